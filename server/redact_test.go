package server

import (
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/secrets/redact"
)

// Error answers never quote a decrypted secret: a go-live conflict names
// the source folder, whose host may be a secret Extension Configuration.
func TestErrorAnswersAreRedacted(t *testing.T) {
	const secret = "S3cr3t-host.internal"
	red := redact.New()
	red.Add(secret)
	s := &Server{redactor: red, log: slog.New(slog.DiscardHandler)}
	for _, err := range []error{
		fmt.Errorf("%w: source folder sftp://%s:22/in is already used by Live dataflow \"x\"", control.ErrConflict, secret),
		&control.ValidationError{Message: "invalid", Problems: []dataflow.Problem{{Path: "blocks[0].config.hostname", Message: "host " + secret + " is not valid"}}},
	} {
		w := httptest.NewRecorder()
		s.fail(w, httptest.NewRequest("POST", "/api/v1/x", nil), err)
		body := w.Body.String()
		if strings.Contains(body, secret) || !strings.Contains(body, redact.Marker) {
			t.Errorf("answer %d: %s", w.Code, body)
		}
	}
}
