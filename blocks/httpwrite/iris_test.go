package httpwrite

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/block/exprs"
	"github.com/connectplus/connectplus/sandbox"
)

func buildIris(t *testing.T, values map[string]any, env *block.Env) *iris {
	t.Helper()
	cfg, probs := IrisSpec.CompileConfig(values, nil, exprs.NewStep(exprs.Options{}))
	if len(probs) > 0 {
		t.Fatalf("config problems: %v", probs)
	}
	b, err := IrisSpec.New(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	return b.(*iris)
}

func uploaded(key string) *block.Unit {
	i := strings.LastIndex(key, "/")
	f := block.NewFile(key[i+1:], 3, func(context.Context) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("a,b")), nil })
	return &block.Unit{Attrs: block.Attributes{block.AttrFilename: key[i+1:], block.AttrPath: key[:i], block.AttrAbsPath: key, block.AttrLineageID: "lin-1"}, File: f}
}

// TestIrisReloadsTheListOfTheUploadedFile: the list is named after the
// folder the file went to, and the call carries Iris's headers.
func TestIrisReloadsTheListOfTheUploadedFile(t *testing.T) {
	s, ts := sandbox.NewTestServer(sandbox.Config{})
	defer ts.Close()
	for _, method := range []string{"POST", "GET"} {
		b := buildIris(t, map[string]any{"apiBaseUrl": ts.URL, "apiMethod": method, "orgIdHeader": "100458", "capillaryToken": "any"}, testEnv())
		if err := b.Process(context.Background(), uploaded("FTP_Test/members.csv"), newCapture()); err != nil {
			t.Fatalf("%s: %v", method, err)
		}
	}
	es := s.Entities(sandbox.KindAudienceReload)
	if len(es) != 2 || es[0].Attributes["audienceName"] != "FTP_Test" || es[0].Attributes["fileName"] != "members.csv" ||
		es[0].Attributes["filePath"] != "FTP_Test/members.csv" || es[1].Endpoint != "GET "+IrisReloadPath {
		t.Fatalf("entities %+v", es)
	}
}

// TestIrisFailures: a list name with spaces is Iris's 400, and a Gen-1 full
// cluster URL is rebased onto the sandbox under --sandbox.
func TestIrisFailures(t *testing.T) {
	s, ts := sandbox.NewTestServer(sandbox.Config{})
	defer ts.Close()
	b := buildIris(t, map[string]any{"apiBaseUrl": ts.URL, "orgIdHeader": "100458", "capillaryToken": "any"}, testEnv())
	err := b.Process(context.Background(), uploaded("FTP Test/members.csv"), newCapture())
	if err == nil || !strings.Contains(err.Error(), "no spaces") || !strings.Contains(err.Error(), "HTTP 400") {
		t.Fatalf("got %v", err)
	}
	env := testEnv(func(e *block.Env) { e.Sandbox = ts.URL })
	b = buildIris(t, map[string]any{"apiUrl": "https://eucrm.cc.capillarytech.com/iris" + IrisReloadPath, "orgIdHeader": "7"}, env)
	if err := b.Process(context.Background(), uploaded("IN_xyz/list.csv"), newCapture()); err != nil {
		t.Fatal(err)
	}
	if es := s.Entities(sandbox.KindAudienceReload); len(es) != 1 || es[0].Endpoint != "POST /iris"+IrisReloadPath {
		t.Fatalf("entities %+v", es)
	}
	if _, probs := IrisSpec.CompileConfig(map[string]any{}, nil, exprs.NewStep(exprs.Options{})); len(probs) != 1 || probs[0].Path != "orgIdHeader" {
		t.Fatalf("X_CAP_ORG is required: %v", probs)
	}
}
