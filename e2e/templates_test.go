package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/store"
	"github.com/connectplus/connectplus/templates"
)

// notThroughServer are the templates this test cannot run, with why.
var notThroughServer = map[string]string{
	// Its source is the API (http_read), not an SFTP folder: no sample file
	// can be dropped; blocks/httpwrite runs it against the sandbox feed.
	"pull_data_from_api": "pulls from the API, not from SFTP",
	// Its source is a Kafka topic, not an SFTP folder: the sample run
	// feeds it through the sandbox broker, and scheduler's
	// TestStreamRunsLive runs a Kafka dataflow Live under the runtime.
	"ingest_kafka_stream_in_api": "a stream: reads a Kafka topic, not an SFTP folder",
}

// TestTemplatesThroughServer runs the catalogue the way a brand does: each
// template is copied into the organisation through the API with parameters
// pointing at the real OpenSSH server (SFTP sources and destinations) and
// the API sandbox, submitted, approved by the other admin and made Live;
// its sample files are dropped into its SFTP source folder and run; the
// result files the server writes to the SFTP error folder, the entities the
// sandbox holds and the files written to the SFTP destination equal the
// template's goldens (the ones connectplus templates test checks).
//
// As in the sample run, API destinations send one request at a time (the
// Draft is edited to concurrency 1, and Databricks status checks to 50 ms)
// and files that are not joined are run
// one after the other, so entity ids and which of two duplicates is
// rejected are the goldens'.
func TestTemplatesThroughServer(t *testing.T) {
	e := newEnv(t)
	cat, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	// Templates that read from FTP (ftp_*) or write to S3 run against the
	// real pyftpdlib server and the versitygw gateway.
	x := &extraServers{ftp: testenv.FTP(t), s3: testenv.S3(t)}
	// The Extension Configurations the sample runs use (test keys) plus
	// the ones the templates name by default.
	configs := map[string]string{"databricks_token": "dapi-e2e-token"}
	for _, tp := range cat.All() {
		for name, v := range tp.SampleRun.Configs {
			if f, ok := strings.CutPrefix(v, "file:"); ok {
				b, err := cat.Sample(tp, f)
				if err != nil {
					t.Fatal(err)
				}
				v = string(b)
			}
			configs[name] = v
		}
	}
	// The S3 keys the templates name by default, and the FTP password.
	configs["s3_access_key"] = x.s3.AccessKey
	configs["s3_secret_key"] = x.s3.SecretKey
	configs["ftp_password"] = x.ftp.Password
	names := make([]string, 0, len(configs))
	for n := range configs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		var req store.ConfigRequest
		e.admin.do("POST", "/config-requests", map[string]any{"name": n, "value": configs[n], "isSecret": true}, 201, &req)
		e.approver.do("POST", "/config-requests/"+req.ID+"/approve", map[string]any{"comment": "test key"}, 200, nil)
	}

	ran := 0
	for i, tp := range cat.All() {
		if why, skip := notThroughServer[tp.Name]; skip {
			t.Logf("%s: not run through the server: %s", tp.Name, why)
			continue
		}
		ran++
		t.Run(tp.Name, func(t *testing.T) { e.runTemplate(t, cat, tp, i, x) })
	}
	if ran < len(cat.Names())-len(notThroughServer) {
		t.Fatalf("ran %d of %d templates", ran, len(cat.Names()))
	}
}

// extraServers are the file servers some templates need besides OpenSSH.
type extraServers struct {
	ftp *testenv.FTPServer
	s3  *testenv.S3Server
}

// fileHost is a file server whose folders the test reads and writes
// locally: OpenSSH (SFTP) or pyftpdlib (FTP).
type fileHost interface {
	LocalPath(remote string) string
	WriteFile(t testing.TB, rel string, data []byte) string
}

func usesBlock(tp *templates.Template, typ string) bool {
	for _, b := range tp.Blocks {
		if b == typ {
			return true
		}
	}
	return false
}

func (e *env) runTemplate(t *testing.T, cat *templates.Catalogue, tp *templates.Template, i int, x *extraServers) {
	e.sb.Reset()
	// The source server: FTP for the ftp_* templates (sftp_read speaks
	// FTP with protocol ftp), OpenSSH for the rest.
	overFTP := strings.HasPrefix(tp.Name, "ftp_")
	var src fileHost = e.sshd
	root := "/upload"
	if overFTP {
		src, root = x.ftp, ""
	}
	toS3 := usesBlock(tp, "s3_write")
	bucket := fmt.Sprintf("tmpl-%02d", i)
	if toS3 {
		x.s3.CreateBucket(t, bucket)
	}
	// Folders of its own: two Live dataflows never share a source folder.
	base := fmt.Sprintf("t%02d", i)
	for _, d := range []string{"in", "processed", "errors", "out"} {
		src.WriteFile(t, base+"/"+d+"/.keep", nil)
	}
	dir := func(d string) string { return root + "/" + base + "/" + d }
	// The source folder is empty: templates that take every file (".*")
	// would pick up the marker.
	if err := os.Remove(filepath.Join(src.LocalPath(dir("in")), ".keep")); err != nil {
		t.Fatal(err)
	}
	params := map[string]string{}
	for k, v := range tp.SampleRun.Parameters {
		params[k] = v
	}
	set := map[string]string{
		"sftpHost": e.sshd.Host, "sftpPort": strconv.Itoa(e.sshd.Port), "sftpUser": e.sshd.User,
		"sftpHostKeyFingerprint": e.sshd.HostKeyFingerprint,
		"sourceDirectory":        dir("in"), "processedDirectory": dir("processed"), "apiErrorFilePath": dir("errors"),
		"apiBaseUrl": e.sbURL, "webhookBaseUrl": e.sbURL, "dataBricksUrl": e.sbURL + "/api/2.1/jobs",
		"destHost": e.sshd.Host, "destPort": strconv.Itoa(e.sshd.Port), "destUser": e.sshd.User, "destPassword": "sftp_password",
		"destHostKeyFingerprint": e.sshd.HostKeyFingerprint, "remotePath": dir("out"), "diffPath": dir("out"),
	}
	if overFTP {
		set["sftpHost"], set["sftpPort"], set["sftpUser"], set["sftpPassword"] = x.ftp.Host, strconv.Itoa(x.ftp.Port), x.ftp.User, "ftp_password"
	}
	if toS3 {
		set["s3BucketName"], set["awsRegion"] = bucket, x.s3.Region
		set["s3AccessKey"], set["s3SecretKey"] = "s3_access_key", "s3_secret_key"
		set["irisBaseUrl"] = e.sbURL
	}
	for _, p := range tp.Parameters {
		if v, ok := set[p.Name]; ok {
			params[p.Name] = v
		}
	}
	var cr struct {
		Dataflow store.Dataflow `json:"dataflow"`
		Version  store.Version  `json:"version"`
		Problems []struct{ Severity, Message string }
	}
	e.admin.do("POST", "/templates/"+tp.Name+"/instantiate", map[string]any{"name": "tmpl-" + tp.Name, "parameters": params}, 201, &cr)
	if cr.Version.State != "Draft" || len(cr.Problems) != 0 {
		t.Fatalf("instantiated: %s %+v", cr.Version.State, cr.Problems)
	}
	f := flowRef{ID: cr.Dataflow.ID}
	e.serialiseDraft(t, f, cr.Version, func(b *dataflow.Block) bool {
		switch {
		case overFTP && b.Type == "sftp_read":
			// The test server is not on port 21, so auto would pick SFTP.
			b.Config["protocol"] = "ftp"
		case toS3 && b.Type == "s3_write":
			b.Config["endpointUrl"] = x.s3.Endpoint
			b.Config["pathStyle"] = "true"
		default:
			return false
		}
		return true
	})
	e.seed(t, tp)
	e.approveAndGoLive(f, 1)
	e.waitFor("first poll after go-live", 20*time.Second, func() (bool, string) {
		st := e.status(f)
		return st.LastPoll != nil && st.LiveVersion == 1, fmt.Sprintf("%+v", st)
	})
	drop := func(names ...string) {
		// The files arrive in the sample order (a join emits in the
		// lineage of the last one), a second apart as sources see them.
		at := time.Now().Add(-time.Minute)
		for k, s := range names {
			b, err := cat.Sample(tp, s)
			if err != nil {
				t.Fatal(err)
			}
			tmp := src.WriteFile(t, base+"/in/"+s+".part", b)
			final := filepath.Join(filepath.Dir(tmp), s)
			mt := at.Add(time.Duration(k) * time.Second)
			if err := os.Chtimes(tmp, mt, mt); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, final); err != nil {
				t.Fatal(err)
			}
		}
		e.operate(f, "run-now")
		e.waitRuns(f, 60*time.Second, names...)
	}
	if joins(tp) {
		drop(tp.Samples...)
	} else {
		for _, s := range tp.Samples {
			drop(s)
		}
	}

	want, err := cat.Expected(tp)
	if err != nil {
		t.Fatal(err)
	}
	var wantOut [][]byte
	wantS3Keys := map[string]struct{}{}
	for p, golden := range want {
		switch {
		case strings.HasPrefix(p, "results/"):
			// result_<timestamp>_<file>: the server's clock, not the golden's.
			orig := p[len("results/result_20250115103000_"):]
			got := templates.NormaliseResult(resultFile(t, src, dir("errors"), orig))
			if !bytes.Equal(got, golden) {
				t.Errorf("%s:\n%s", p, templates.LineDiff(string(golden), string(got)))
			}
		case p == "entities.json":
			if got := templates.EntitiesGolden(e.sb.Entities("")); !bytes.Equal(got, golden) {
				t.Errorf("sandbox entities:\n%s", templates.LineDiff(string(golden), string(got)))
			}
		case strings.HasPrefix(p, "output/"):
			wantOut = append(wantOut, golden)
			// output/<block>/<object key> for S3 destinations.
			if _, key, ok := strings.Cut(strings.TrimPrefix(p, "output/"), "/"); ok && toS3 {
				wantS3Keys[key] = struct{}{}
			}
		}
	}
	// Output names carry the server's date (now()); the contents must match.
	gotOut := outputs(t, src, dir("out"))
	if toS3 {
		objs := s3Objects(t, x.s3, bucket)
		for key, body := range objs {
			if _, ok := wantS3Keys[key]; !ok {
				t.Errorf("object %s in the bucket; the golden has %v", key, wantS3Keys)
			}
			gotOut = append(gotOut, body)
		}
	}
	for k := range wantOut {
		wantOut[k] = normaliseReport(wantOut[k])
	}
	for k := range gotOut {
		gotOut[k] = normaliseReport(gotOut[k])
	}
	sortBytes(wantOut)
	sortBytes(gotOut)
	if len(gotOut) != len(wantOut) {
		t.Errorf("%d files written to the destination, want %d", len(gotOut), len(wantOut))
	}
	for k := 0; k < len(gotOut) && k < len(wantOut); k++ {
		if !bytes.Equal(gotOut[k], wantOut[k]) {
			t.Errorf("destination file:\n%s", templates.LineDiff(string(wantOut[k]), string(gotOut[k])))
		}
	}
	if got := listDir(t, src.LocalPath(dir("in"))); len(got) != 0 {
		t.Errorf("left in the source folder: %v", got)
	}
	e.operate(f, "stop")
}

// reportClock matches the lines of a reconciliation report that carry the
// run's clock or its configured directory: the server's clock and the
// test's folders, not the golden's.
var reportClock = regexp.MustCompile(`(?m)^  "(started|finished|fromYear|diffPath)": .*$`)

// normaliseReport blanks those lines in a reconciliation report
// (reconcile.Report JSON); other files pass unchanged.
func normaliseReport(b []byte) []byte {
	if !bytes.Contains(b, []byte(`"lookupRequests"`)) {
		return b
	}
	return reportClock.ReplaceAll(b, []byte(`  "$1": <run>`))
}

func joins(tp *templates.Template) bool {
	for _, b := range tp.Blocks {
		if strings.HasSuffix(b, "_join") {
			return true
		}
	}
	return false
}

// serialiseDraft saves the Draft with concurrency 1 on its API blocks and
// a short status-check interval on Databricks blocks (the sandbox's runs
// end at once; the template checks every minute).
func (e *env) serialiseDraft(t *testing.T, f flowRef, v store.Version, tweak func(*dataflow.Block) bool) {
	doc, err := dataflow.Parse([]byte(v.Document), "draft.yaml")
	if err != nil {
		t.Fatal(err)
	}
	changed := false
	for i := range doc.Blocks {
		if tweak != nil && tweak(&doc.Blocks[i]) {
			changed = true
		}
		switch b := &doc.Blocks[i]; {
		case b.Type == "http_write":
			b.Config["concurrency"] = int64(1)
			changed = true
		case strings.HasPrefix(b.Type, "databricks_"):
			b.Config["pollInterval"] = "50ms"
			changed = true
		}
	}
	if !changed {
		return
	}
	text, err := dataflow.Marshal(doc, "yaml")
	if err != nil {
		t.Fatal(err)
	}
	e.admin.do("PUT", fmt.Sprintf("/dataflows/%s/versions/1", f.ID), map[string]any{"document": string(text), "revision": v.Revision}, 200, nil)
}

// seed sends the template's sandbox setup calls.
func (e *env) seed(t *testing.T, tp *templates.Template) {
	tok := e.sb.IssueToken()
	for _, c := range tp.Sandbox.Seed {
		req, err := http.NewRequest(c.Method, e.sbURL+c.Path, strings.NewReader(c.Body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CAP-API-OAUTH-TOKEN", tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("seed %s %s: %d %s", c.Method, c.Path, res.StatusCode, b)
		}
	}
}

// resultFile reads the one result file of orig in a folder of h.
func resultFile(t *testing.T, h fileHost, dir, orig string) []byte {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(h.LocalPath(dir), "result_*_"+orig))
	if len(m) != 1 {
		t.Fatalf("result files of %s: %v", orig, m)
	}
	b, err := os.ReadFile(m[0])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// listDir names the files of a local folder but the .keep marker.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, en := range ents {
		if en.Name() != ".keep" {
			out = append(out, en.Name())
		}
	}
	return out
}

// s3Objects reads every object of a bucket through the S3 API (not the
// gateway's directory), by key.
func s3Objects(t *testing.T, srv *testenv.S3Server, bucket string) map[string][]byte {
	t.Helper()
	cl := srv.Client()
	res, err := cl.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatalf("list %s: %v", bucket, err)
	}
	out := map[string][]byte{}
	for _, o := range res.Contents {
		out[aws.ToString(o.Key)] = srv.GetObject(t, bucket, aws.ToString(o.Key))
	}
	return out
}

// outputs reads every file of dir, the files inside zips instead of the zips.
func outputs(t *testing.T, h fileHost, dir string) [][]byte {
	ents, err := os.ReadDir(h.LocalPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, en := range ents {
		p := filepath.Join(h.LocalPath(dir), en.Name())
		switch {
		case en.Name() == ".keep":
		case strings.HasSuffix(en.Name(), ".zip"):
			zr, err := zip.OpenReader(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, zf := range zr.File {
				rc, err := zf.Open()
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, b)
			}
			zr.Close()
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}

func sortBytes(bs [][]byte) {
	sort.Slice(bs, func(i, j int) bool { return bytes.Compare(bs[i], bs[j]) < 0 })
}
