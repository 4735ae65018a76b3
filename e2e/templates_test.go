package e2e

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/store"
	"github.com/connectplus/connectplus/templates"
)

// TestTemplatesThroughServer runs catalogue templates the way a brand
// does: each is copied into the organisation through the API with
// parameters pointing at the real OpenSSH server and the API sandbox,
// submitted, approved by the other admin and made Live; its sample files
// are dropped into the SFTP source folder and run; the result file the
// server writes to the SFTP error folder, the entities the sandbox holds
// and the files written to the SFTP destination equal the template's
// goldens (the same ones connectplus templates test checks).
func TestTemplatesThroughServer(t *testing.T) {
	e := newEnv(t)
	cat, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"transaction_v2_add", "customer_v2_add", "transaction_line_item_merge", "sftp_to_sftp_2_files_join"} {
		tp, ok := cat.Get(name)
		if !ok {
			t.Fatalf("no template %s", name)
		}
		t.Run(name, func(t *testing.T) {
			e.sb.Reset()
			// Each template has folders of its own: two Live dataflows
			// never share a source folder.
			base := fmt.Sprintf("t%d", i)
			for _, d := range []string{"in", "processed", "errors", "out"} {
				e.sshd.WriteFile(t, base+"/"+d+"/.keep", nil)
			}
			dir := func(d string) string { return "/upload/" + base + "/" + d }
			outDir := dir("out")
			params := map[string]string{
				"sftpHost": e.sshd.Host, "sftpPort": strconv.Itoa(e.sshd.Port), "sftpUser": e.sshd.User,
				"sftpHostKeyFingerprint": e.sshd.HostKeyFingerprint,
				"sourceDirectory":        dir("in"), "processedDirectory": dir("processed"), "apiErrorFilePath": dir("errors"),
			}
			has := map[string]bool{}
			for _, p := range tp.Parameters {
				has[p.Name] = true
			}
			if has["apiBaseUrl"] {
				params["apiBaseUrl"] = e.sbURL
			}
			if has["destHost"] {
				for k, v := range map[string]string{"destHost": e.sshd.Host, "destPort": strconv.Itoa(e.sshd.Port), "destUser": e.sshd.User,
					"destPassword": "sftp_password", "destHostKeyFingerprint": e.sshd.HostKeyFingerprint, "remotePath": outDir} {
					params[k] = v
				}
			}
			var cr struct {
				Dataflow store.Dataflow `json:"dataflow"`
				Version  store.Version  `json:"version"`
				Problems []struct {
					Severity, Message string
				} `json:"problems"`
			}
			e.admin.do("POST", "/templates/"+name+"/instantiate", map[string]any{"name": fmt.Sprintf("tmpl-%d-%s", i, name), "parameters": params}, 201, &cr)
			if cr.Version.State != "Draft" || len(cr.Problems) != 0 {
				t.Fatalf("instantiated: %+v %+v", cr.Version.State, cr.Problems)
			}
			f := flowRef{ID: cr.Dataflow.ID}
			e.approveAndGoLive(f, 1)
			e.waitFor("first poll after go-live", 20*time.Second, func() (bool, string) {
				st := e.status(f)
				return st.LastPoll != nil && st.LiveVersion == 1, fmt.Sprintf("%+v", st)
			})
			for _, s := range tp.Samples {
				b, err := cat.Sample(tp, s)
				if err != nil {
					t.Fatal(err)
				}
				tmp := e.sshd.WriteFile(t, base+"/in/"+s+".part", b)
				if err := os.Rename(tmp, filepath.Join(filepath.Dir(tmp), s)); err != nil {
					t.Fatal(err)
				}
			}
			e.operate(f, "run-now")
			e.waitRuns(f, 60*time.Second, tp.Samples...)

			want, err := cat.Expected(tp)
			if err != nil {
				t.Fatal(err)
			}
			checked := 0
			for p, golden := range want {
				switch {
				case strings.HasPrefix(p, "results/"):
					// result_<timestamp>_<file>: the server's clock, not the golden's.
					orig := p[len("results/result_20250115103000_"):]
					got := e.resultFile(dir("errors"), orig)
					if !bytes.Equal(templates.NormaliseResult(got), golden) {
						t.Errorf("%s:\n%s", p, templates.LineDiff(string(golden), string(templates.NormaliseResult(got))))
					}
					checked++
				case p == "entities.json":
					if got := templates.EntitiesGolden(e.sb.Entities("")); !bytes.Equal(got, golden) {
						t.Errorf("sandbox entities:\n%s", templates.LineDiff(string(golden), string(got)))
					}
					checked++
				case strings.HasPrefix(p, "output/"):
					if got := e.zippedOutput(outDir); !bytes.Equal(got, golden) {
						t.Errorf("%s:\n%s", p, templates.LineDiff(string(golden), string(got)))
					}
					checked++
				}
			}
			if checked < 2 {
				t.Fatalf("only %d goldens compared", checked)
			}
			if got := e.sftpFiles(dir("in")); len(got) != 0 {
				t.Errorf("left in the source folder: %v", got)
			}
			if got := e.sftpFiles(dir("processed")); len(got) != len(tp.Samples) {
				t.Errorf("processed folder: %v", got)
			}
		})
	}
}

// resultFile reads the one result file of orig in an SFTP folder.
func (e *env) resultFile(dir, orig string) []byte {
	e.t.Helper()
	m, _ := filepath.Glob(filepath.Join(e.sshd.LocalPath(dir), "result_*_"+orig))
	if len(m) != 1 {
		e.t.Fatalf("result files of %s: %v", orig, m)
	}
	b, err := os.ReadFile(m[0])
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// zippedOutput reads the single file inside the single zip in dir.
func (e *env) zippedOutput(dir string) []byte {
	e.t.Helper()
	m, _ := filepath.Glob(filepath.Join(e.sshd.LocalPath(dir), "*.zip"))
	if len(m) != 1 {
		e.t.Fatalf("zips in %s: %v", dir, m)
	}
	zr, err := zip.OpenReader(m[0])
	if err != nil {
		e.t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 {
		e.t.Fatalf("%s holds %d files", m[0], len(zr.File))
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		e.t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}
