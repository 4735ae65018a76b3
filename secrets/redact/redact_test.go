package redact

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
)

func TestStringReplacesEveryForm(t *testing.T) {
	r := New()
	secret := "p@ss w/rd+\"x\""
	r.Add(secret)
	for _, in := range []string{
		"sftp://u@" + secret + ":22: cannot reach the server",
		"GET https://h/x?token=" + url.QueryEscape(secret),
		"path /a/" + url.PathEscape(secret) + "/b",
		fmt.Sprintf("value %q is not valid", secret),
		"Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(secret)),
		"raw " + base64.RawURLEncoding.EncodeToString([]byte(secret)),
	} {
		out := r.String(in)
		if !strings.Contains(out, Marker) || strings.Contains(out, secret) {
			t.Errorf("%q → %q", in, out)
		}
	}
}

func TestShortValuesAndNilRedactorAreHarmless(t *testing.T) {
	r := New()
	r.Add("abc") // below MinLength
	if got := r.String("abc def"); got != "abc def" || !r.Empty() {
		t.Fatalf("short value redacted: %q", got)
	}
	var none *Redactor
	none.Add("secret-value")
	if none.String("secret-value") != "secret-value" || !none.Empty() {
		t.Fatal("nil redactor changed text")
	}
}

func TestLongerSecretWinsOverContainedOne(t *testing.T) {
	r := New()
	r.Add("host-secret")
	r.Add("host-secret.example.net")
	if got := r.String("dial host-secret.example.net:22"); got != "dial "+Marker+":22" {
		t.Fatalf("%q", got)
	}
}

func TestConcurrentAddAndString(t *testing.T) {
	r := New()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			r.Add(fmt.Sprintf("secret-%04d", i))
		}()
		go func() {
			defer wg.Done()
			_ = r.String("text with secret-0001 in it")
		}()
	}
	wg.Wait()
	if got := r.String("secret-0003 and secret-0007"); got != Marker+" and "+Marker {
		t.Fatalf("%q", got)
	}
}

type creds struct{ User, Pass string }

type valuer struct{ v string }

func (v valuer) LogValue() slog.Value { return slog.StringValue(v.v) }

func TestHandlerRedactsMessagesAttrsGroupsAndWith(t *testing.T) {
	const secret = "Zq9-S3cr3t-host"
	var buf bytes.Buffer
	r := New()
	log := slog.New(r.Handler(slog.NewJSONHandler(&buf, nil)))
	r.Add(secret)
	log = log.With("bound", "at "+secret)
	log.WithGroup("g").Error("cannot reach "+secret,
		"err", fmt.Errorf("dial %s: %w", secret, errors.New("refused")),
		"host", secret,
		"cfg", creds{User: "u", Pass: secret},
		"lazy", valuer{secret},
		slog.Group("inner", "dir", "/in/"+secret),
		"count", 3,
		"clean", errors.New("nothing to hide"))
	out := buf.String()
	if strings.Contains(out, secret) {
		t.Fatalf("secret in log: %s", out)
	}
	if n := strings.Count(out, Marker); n != 7 {
		t.Fatalf("%d markers, want 7: %s", n, out)
	}
	for _, want := range []string{`"count":3`, `"clean":"nothing to hide"`, `"dir":"/in/[REDACTED]"`} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in %s", want, out)
		}
	}
}

func TestHandlerPassesThroughWhenEmpty(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(New().Handler(slog.NewTextHandler(&buf, nil)))
	log.Info("hello", "k", "v")
	if !strings.Contains(buf.String(), "msg=hello k=v") {
		t.Fatalf("%s", buf.String())
	}
}
