package e2e

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/store"
)

// redactedMarker is what the server writes in place of a secret value.
const redactedMarker = "[REDACTED]"

// leakCase is one failing dataflow: a connector given secret Extension
// Configurations in fields that are not secret (host, user, directory,
// bucket), where its errors would quote them.
type leakCase struct {
	name string
	// blocks is the YAML of the blocks after "blocks:".
	blocks string
	// file is dropped into the flow's SFTP source folder (nil: the flow
	// has no SFTP source, or fails before it reads one).
	file []byte
	// quotes: the connector's errors hold a secret, so the log (and the run
	// record, when run is set) must show the redaction marker instead.
	quotes bool
	run    bool
}

// TestSecretsNeverLeakFromFailingConnectors runs a failing dataflow per
// connector — SFTP, FTP, S3, local files, HTTP with OAuth, PGP — whose
// hosts, users, directories and buckets are secret Extension
// Configurations, and searches the server log, the run records and the API
// answers for every secret value in every form it could be quoted in.
func TestSecretsNeverLeakFromFailingConnectors(t *testing.T) {
	e := newEnv(t)
	ftp := testenv.FTP(t)
	s3 := testenv.S3(t)
	gpg := testenv.GPG(t)
	pgpKey := gpg.GenerateKey("Leak Test <leak@example.com>", "ed25519", "the-right-passphrase")
	localRoot := e.localDir

	secretValues := map[string]string{
		// A loopback address nothing listens on: "cannot reach the server".
		"leak_host":       "127.83.41.7",
		"leak_user":       "Zq9-S3cr3t-user",
		"leak_dir":        "/upload/Zq9-S3cr3t-dir",
		"leak_bucket":     "zq9-s3cr3t-bucket",
		"leak_local":      filepath.Join(localRoot, "Zq9-S3cr3t-local"),
		"leak_client_key": "Zq9-S3cr3t-client-key",
		"leak_passphrase": "Zq9-S3cr3t-passphrase",
		"ftp_password":    ftp.Password,
		"s3_secret_key":   s3.SecretKey,
		"pgp_private_key": base64.StdEncoding.EncodeToString(pgpKey.SecretArmored),
	}
	plain := map[string]string{"ftp_user": ftp.User, "s3_access_key": s3.AccessKey, "s3_endpoint": s3.Endpoint}
	for name, v := range secretValues {
		e.addConfig(name, v, true)
	}
	for name, v := range plain {
		e.addConfig(name, v, false)
	}

	sftpRead := func(flow, host, dir string) string {
		if dir == "" {
			dir = "/upload/" + flow + "/in"
			e.sshd.WriteFile(t, flow+"/in/.keep", nil)
		}
		for _, d := range []string{"done", "err"} {
			e.sshd.WriteFile(t, flow+"/"+d+"/.keep", nil)
		}
		return fmt.Sprintf(`
  - type: sftp_read
    name: read
    config:
      hostname: %s
      port: %d
      username: {$config: sftp_user}
      password: {$config: sftp_password}
      hostKeyFingerprint: {$config: sftp_fingerprint}
      sourceDirectory: %s
      fileRegex: '.*\.(csv|gpg)'
      processedDirectory: /upload/%s/done
      apiErrorFilePath: /upload/%s/err
      stabilityWait: 0.2s
      connectTimeout: 2s
    relations: [out]`, host, e.sshd.Port, dir, flow, flow)
	}
	real := "{$config: sftp_host}"
	csv := customersCSV("leak", 3)
	encrypted := e.gpgEncrypt(gpg, pgpKey, csv)
	cases := []leakCase{
		{name: "leak-sftp-dir", quotes: true, blocks: sftpRead("leak-sftp-dir", real, "{$config: leak_dir}") + `
  - type: file_write
    name: out
    config: {remotePath: ` + localRoot + `, createRemoteDirectory: true, conflictResolution: REPLACE}`},
		{name: "leak-sftp-write", quotes: true, run: true, file: csv, blocks: sftpRead("leak-sftp-write", real, "") + fmt.Sprintf(`
  - type: sftp_write
    name: out
    config:
      hostname: {$config: sftp_host}
      port: %d
      username: {$config: sftp_user}
      password: {$config: sftp_password}
      hostKeyFingerprint: {$config: sftp_fingerprint}
      remotePath: {$config: leak_dir}
      createRemoteDirectory: false
      conflictResolution: REPLACE`, e.sshd.Port)},
		{name: "leak-records-write", quotes: true, run: true, file: csv, blocks: sftpRead("leak-records-write", real, "") + fmt.Sprintf(`
  - type: convert_csv_to_json
    name: out
    config: {fileType: csv, groupSize: 2}
    relations: [write]
  - type: sftp_write
    name: write
    config:
      hostname: {$config: sftp_host}
      port: %d
      username: {$config: sftp_user}
      password: {$config: sftp_password}
      hostKeyFingerprint: {$config: sftp_fingerprint}
      remotePath: {$config: leak_dir}
      createRemoteDirectory: false
      conflictResolution: REPLACE`, e.sshd.Port)},
		{name: "leak-ftp-write", quotes: true, run: true, file: csv, blocks: sftpRead("leak-ftp-write", real, "") + fmt.Sprintf(`
  - type: sftp_write
    name: out
    config:
      protocol: ftp
      hostname: 127.0.0.1
      port: %d
      username: {$config: ftp_user}
      password: {$config: ftp_password}
      remotePath: {$config: leak_dir}
      createRemoteDirectory: false
      conflictResolution: REPLACE`, ftp.Port)},
		{name: "leak-s3-write", quotes: true, run: true, file: csv, blocks: sftpRead("leak-s3-write", real, "") + `
  - type: s3_write
    name: out
    config:
      s3BucketName: {$config: leak_bucket}
      s3ObjectKey: '${filename}'
      accessKey: {$config: s3_access_key}
      secretKey: {$config: s3_secret_key}
      awsRegion: us-east-1
      endpointUrl: {$config: s3_endpoint}
      pathStyle: true`},
		{name: "leak-local-write", quotes: true, run: true, file: csv, blocks: sftpRead("leak-local-write", real, "") + `
  - type: file_write
    name: out
    config: {remotePath: {$config: leak_local}, createRemoteDirectory: false, conflictResolution: REPLACE}`},
		{name: "leak-local-read", quotes: true, blocks: `
  - type: file_read
    name: read
    config:
      sourceDirectory: {$config: leak_local}
      fileRegex: '.*\.csv'
      processedDirectory: ` + filepath.Join(localRoot, "done") + `
      apiErrorFilePath: ` + filepath.Join(localRoot, "err") + `
    relations: [out]
  - type: file_write
    name: out
    config: {remotePath: ` + localRoot + `, createRemoteDirectory: true, conflictResolution: REPLACE}`},
		{name: "leak-http-oauth", run: true, file: csv, blocks: sftpRead("leak-http-oauth", real, "") + fmt.Sprintf(`
  - type: convert_csv_to_json
    name: out
    config: {fileType: csv, groupSize: 10}
    relations: [post]
  - type: http_write
    name: post
    config:
      clientKey: {$config: leak_client_key}
      clientSecret: {$config: capillary_client_secret}
      apiBaseUrl: %s
      oAuthBaseUrl: %s
      apiEndPoint: /v2/customers/bulk
      maxRetries: "0"`, e.sbURL, e.sbURL)},
		{name: "leak-pgp", run: true, file: encrypted, blocks: sftpRead("leak-pgp", real, "") + `
  - type: decrypt_content
    name: out
    config:
      privatekeyFile: {$config: pgp_private_key}
      privatePassphrase: {$config: leak_passphrase}`},
		// These three fail when the flow is deployed: the source or the
		// destination cannot connect or log in.
		{name: "leak-sftp-host", quotes: true, blocks: sftpRead("leak-sftp-host", "{$config: leak_host}", "") + `
  - type: file_write
    name: out
    config: {remotePath: ` + localRoot + `, createRemoteDirectory: true, conflictResolution: REPLACE}`},
		{name: "leak-ftp-user", quotes: true, blocks: sftpRead("leak-ftp-user", real, "") + fmt.Sprintf(`
  - type: sftp_write
    name: out
    config:
      protocol: ftp
      hostname: 127.0.0.1
      port: %d
      username: {$config: leak_user}
      password: {$config: ftp_password}
      remotePath: /
      createRemoteDirectory: false
      conflictResolution: REPLACE
      connectTimeout: 2s`, ftp.Port)},
		{name: "leak-s3-read", quotes: true, blocks: `
  - type: s3_read
    name: read
    config:
      s3BucketName: {$config: leak_bucket}
      s3AccessKey: {$config: s3_access_key}
      s3SecretKey: {$config: s3_secret_key}
      s3InputPath: in/
      s3OutputPath: done/
      apiErrorFilePath: err/
      s3FilePattern: '.*\.csv'
      endpointUrl: {$config: s3_endpoint}
      pathStyle: true
    relations: [out]
  - type: file_write
    name: out
    config: {remotePath: ` + localRoot + `, createRemoteDirectory: true, conflictResolution: REPLACE}`},
	}

	flows := map[string]flowRef{}
	for _, c := range cases {
		doc := fmt.Sprintf("name: %s\ntrigger: {cron: %q}\nblocks:%s\n", c.name, neverCron, c.blocks)
		var cr struct {
			Dataflow store.Dataflow `json:"dataflow"`
		}
		e.admin.do("POST", "/dataflows", map[string]any{"name": c.name, "document": doc}, 201, &cr)
		f := flowRef{ID: cr.Dataflow.ID}
		e.approveAndGoLive(f, 1)
		flows[c.name] = f
		if c.file != nil {
			name := "customers.csv"
			if c.name == "leak-pgp" {
				name = "customers.csv.gpg"
			}
			tmp := e.sshd.WriteFile(t, c.name+"/in/"+name+".part", c.file)
			if err := os.Rename(tmp, strings.TrimSuffix(tmp, ".part")); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Poll every flow now (flows that failed to deploy answer an error).
	for _, c := range cases {
		e.admin.send("POST", "/dataflows/"+flows[c.name].ID+"/run-now", nil)
	}

	forms := func(v string) []string {
		return []string{v, url.QueryEscape(v), url.PathEscape(v), base64.StdEncoding.EncodeToString([]byte(v))}
	}
	leaks := func(text string) []string {
		var found []string
		for name, v := range secretValues {
			for _, f := range forms(v) {
				if strings.Contains(text, f) {
					found = append(found, name)
					break
				}
			}
		}
		return found
	}
	logLines := func(flow string) []string {
		b, err := os.ReadFile(e.srv.logPath)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, `"flow":"`+flow+`"`) && (strings.Contains(l, redactedMarker) || len(leaks(l)) > 0) {
				out = append(out, l)
			}
		}
		return out
	}

	// Wait for each flow's failure: a finished run, or a log line quoting
	// a secret (redacted or not).
	runs := map[string]runstate.Run{}
	for _, c := range cases {
		f := flows[c.name]
		if c.run {
			rs := e.waitRuns(f, 60*time.Second, map[bool]string{true: "customers.csv.gpg", false: "customers.csv"}[c.name == "leak-pgp"])
			for _, r := range rs {
				runs[c.name] = r
				if r.Status == runstate.RunSuccess {
					t.Errorf("%s: the run succeeded; the case must fail: %+v", c.name, r)
				}
			}
		}
		if c.quotes {
			e.waitFor(c.name+" failure in the log", 60*time.Second, func() (bool, string) {
				return c.run || len(logLines(c.name)) > 0, "no line yet"
			})
		}
	}

	// A flow that cannot reach its (secret) host shows the failed
	// deployment in its status, with the host redacted.
	e.waitFor("leak-sftp-host deployment failure in the status", 60*time.Second, func() (bool, string) {
		st := e.status(flows["leak-sftp-host"])
		return st.Deployment == runstate.DeployFailed && strings.Contains(st.DeployError, "cannot reach the server: dial tcp "+redactedMarker), fmt.Sprintf("%+v", st)
	})

	// The log: no secret in any form, and each quoting connector shows the
	// marker where the secret was.
	logText, err := os.ReadFile(e.srv.logPath)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(logText), "\n") {
		if found := leaks(l); len(found) > 0 {
			t.Errorf("server log line %d shows secrets %v: %s", i+1, found, l)
		}
	}
	for _, c := range cases {
		if c.quotes && !c.run && len(logLines(c.name)) == 0 {
			t.Errorf("%s: no log line shows where the secret was redacted", c.name)
		}
	}

	// Run records and every API answer about them.
	var answers []string
	get := func(path string) {
		b, _ := e.admin.send("GET", path, nil)
		answers = append(answers, path+" → "+string(b))
	}
	get("/runs?limit=500")
	get("/configs")
	get("/audit?limit=500")
	for _, c := range cases {
		f := flows[c.name]
		get("/dataflows/" + f.ID + "/status")
		get("/dataflows/" + f.ID + "/summary")
		get("/dataflows/" + f.ID + "/versions/1")
		get("/dataflows/" + f.ID + "/versions/1/export")
		if r, ok := runs[c.name]; ok {
			get("/runs/" + r.ID)
			if r.ResultName != "" {
				get("/runs/" + r.ID + "/result")
				// Records that failed carry the error in the result file.
				if c.name == "leak-records-write" && !strings.Contains(answers[len(answers)-1], redactedMarker) {
					t.Errorf("%s: the result file does not show the redacted secret: %s", c.name, answers[len(answers)-1])
				}
			}
			// leak-records-write fails record by record (the reasons are in
			// the result file, checked above); nothing was delivered, so
			// nothing is published and the run has no file-level error.
			if c.quotes && c.name != "leak-records-write" && !strings.Contains(r.Error, redactedMarker) {
				t.Errorf("%s: the run error does not show the redacted secret: %q", c.name, r.Error)
			}
		}
	}
	for _, a := range answers {
		if found := leaks(a); len(found) > 0 {
			t.Errorf("API answer shows secrets %v: %.2000s", found, a)
		}
	}
	// The database file itself holds run errors in clear text columns.
	db, err := os.ReadFile(filepath.Join(e.dataDir, "connectplus.db"))
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(filepath.Join(e.dataDir, "connectplus.db-wal"))
	if found := leaks(string(db) + string(wal)); len(found) > 0 {
		t.Errorf("the database holds secrets in clear: %v", found)
	}
}

// addConfig requests an Extension Configuration as admin and has approver
// approve it.
func (e *env) addConfig(name, value string, secret bool) {
	e.t.Helper()
	var req store.ConfigRequest
	e.admin.do("POST", "/config-requests", map[string]any{"name": name, "value": value, "isSecret": secret}, 201, &req)
	e.approver.do("POST", "/config-requests/"+req.ID+"/approve", map[string]any{"comment": "ok"}, 200, nil)
}

// gpgEncrypt encrypts data to key with gpg.
func (e *env) gpgEncrypt(g *testenv.GPGHome, key *testenv.GPGKey, data []byte) []byte {
	e.t.Helper()
	dir := e.t.TempDir()
	in, out := filepath.Join(dir, "plain.csv"), filepath.Join(dir, "plain.csv.gpg")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		e.t.Fatal(err)
	}
	g.Encrypt(in, out, key.Fingerprint, testenv.EncryptOptions{})
	b, err := os.ReadFile(out)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}
