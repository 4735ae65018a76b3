package server

import (
	"strings"
	"testing"

	"github.com/connectplus/connectplus/blocks/sftp"
	"github.com/connectplus/connectplus/dataflow"
)

// sftpDoc reads over SFTP with the extra connection lines given.
func sftpDoc(name, extra string) string {
	return `name: ` + name + `
blocks:
  - type: sftp_read
    name: read
    config:
      hostname: {$config: sftp_host}
      username: partner
      password: {$config: sftp_password}
      sourceDirectory: /in
      processedDirectory: /done
      apiErrorFilePath: /errors
      fileRegex: .*
` + extra + `    relations:
      - to: write
  - type: sink_write
    name: write
    config:
      remotePath: /out
`
}

func hasWarning(ps []dataflow.Problem, path, text string) bool {
	for _, p := range ps {
		if p.Path == path && strings.Contains(p.Message, text) {
			return true
		}
	}
	return false
}

// TestInsecureConnectionWarnings: an unverified host key and plain FTP with
// credentials validate and submit, but every validate, submit and version
// read — what the approver looks at — carries them as warnings
// (issue 14.12).
func TestInsecureConnectionWarnings(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		reg := testRegistry(t)
		sftp.Register(reg)
		h := newHarnessWith(t, dsn, harnessOptions{registry: reg})
		tm := h.team()
		h.configs(tm)

		insecure := sftpDoc("Insecure", "      insecureAcceptAnyHostKey: true\n")
		var vd ValidateDocumentResponse
		tm.editor.must(200, "POST", "/api/v1/validate", map[string]any{"document": insecure}, &vd)
		found := false
		for _, p := range vd.Problems {
			if p.Severity == "error" {
				t.Fatalf("insecure document does not validate: %+v", vd.Problems)
			}
			found = found || (p.Severity == "warning" && p.Path == "blocks[0].config.insecureAcceptAnyHostKey")
		}
		if !vd.Valid || !found {
			t.Fatalf("validate: %+v", vd)
		}

		res := createFlow(t, tm.editor, "Insecure", insecure)
		id := res.Dataflow.ID
		var val ValidateResponse
		tm.editor.must(200, "POST", vpath(id, 1, "/validate"), nil, &val)
		if !val.Valid || !hasWarning(val.Warnings, "blocks[0].config.insecureAcceptAnyHostKey", "man-in-the-middle") {
			t.Fatalf("version validate: %+v", val)
		}
		var sub VersionView
		tm.editor.must(200, "POST", vpath(id, 1, "/submit"), nil, &sub)
		if !hasWarning(sub.Warnings, "blocks[0].config.insecureAcceptAnyHostKey", "not verified") {
			t.Fatalf("submit: %+v", sub.Warnings)
		}
		var read VersionView
		tm.admin.must(200, "GET", vpath(id, 1, ""), nil, &read)
		if !hasWarning(read.Warnings, "blocks[0].config.insecureAcceptAnyHostKey", "not verified") {
			t.Fatalf("approver's read: %+v", read.Warnings)
		}

		// Plain FTP with credentials, by protocol or by port 21; FTPS and
		// SFTP are quiet.
		for _, c := range []struct {
			extra, path string
			warn        bool
		}{
			{"      protocol: ftp\n", "blocks[0].config.protocol", true},
			{"      port: 21\n", "blocks[0].config.port", true},
			{"      port: 21\n      ftpsMode: explicit\n", "", false},
			{"      port: 22\n", "", false},
			{"      hostKeyFingerprint: SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s\n", "", false},
		} {
			var vr ValidateDocumentResponse
			tm.viewer.must(200, "POST", "/api/v1/validate", map[string]any{"document": sftpDoc("FTP", c.extra)}, &vr)
			warned := false
			for _, p := range vr.Problems {
				if p.Severity == "error" {
					t.Fatalf("%q does not validate: %+v", c.extra, vr.Problems)
				}
				if p.Severity == "warning" && strings.Contains(p.Message, "in clear") {
					warned = true
					if p.Path != c.path {
						t.Errorf("%q: warning at %s", c.extra, p.Path)
					}
				}
			}
			if warned != c.warn {
				t.Errorf("%q: warned %v: %+v", c.extra, warned, vr.Problems)
			}
		}
	})
}
