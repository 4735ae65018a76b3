package pgp_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/block/exprs"
	"github.com/connectplus/connectplus/blocks/hashing"
	"github.com/connectplus/connectplus/blocks/local"
	"github.com/connectplus/connectplus/blocks/pgp"
	cxml "github.com/connectplus/connectplus/blocks/xml"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/engine"
)

type resolver map[string]string

func (r resolver) Resolve(name string) (string, error) { return r[name], nil }

func armored(t *testing.T, e *openpgp.Entity, private bool) string {
	var b bytes.Buffer
	typ := openpgp.PublicKeyType
	if private {
		typ = openpgp.PrivateKeyType
	}
	w, _ := armor.Encode(&b, typ, nil)
	if private {
		e.SerializePrivate(w, nil)
	} else {
		e.Serialize(w)
	}
	w.Close()
	return b.String()
}

// TestFlowThroughEngine runs the "CSV to XML conversion" template shape
// (file source → decrypt → hash → CSV to XML → encrypt → file sink) in the
// engine, and checks that a file encrypted to another key ends up in the
// error location while the good one is delivered.
func TestFlowThroughEngine(t *testing.T) {
	us, _ := openpgp.NewEntity("Us", "", "us@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	partner, _ := openpgp.NewEntity("Partner", "", "partner@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	stranger, _ := openpgp.NewEntity("Stranger", "", "x@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	encryptTo := func(e *openpgp.Entity, plain string) []byte {
		var b bytes.Buffer
		w, err := openpgp.Encrypt(&b, []*openpgp.Entity{e}, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(plain))
		w.Close()
		return b.Bytes()
	}
	dir := t.TempDir()
	in, done, errDir, out := filepath.Join(dir, "in"), filepath.Join(dir, "done"), filepath.Join(dir, "results"), filepath.Join(dir, "out")
	os.MkdirAll(in, 0o755)
	os.WriteFile(filepath.Join(in, "good.csv.gpg"), encryptTo(us, "id,email\n1,a@b.c\n2,<x>&y\n"), 0o600)
	os.WriteFile(filepath.Join(in, "bad.csv.gpg"), encryptTo(stranger, "id,email\n1,z\n"), 0o600)

	reg := block.NewRegistry()
	local.Register(reg)
	pgp.Register(reg)
	hashing.Register(reg)
	cxml.Register(reg)
	doc := &dataflow.Document{Name: "t", Blocks: []dataflow.Block{
		{Type: "file_read", Name: "src", Config: map[string]any{"sourceDirectory": in, "processedDirectory": done, "apiErrorFilePath": errDir, "stabilityWait": "20ms", "fileRegex": `.*\.gpg`},
			Relations: []dataflow.Relation{{To: "dec"}}},
		{Type: "decrypt_content", Name: "dec", Config: map[string]any{"privatekeyFile": map[string]any{"$config": "ourKey"}}, Relations: []dataflow.Relation{{To: "hash"}}},
		{Type: "hash_csv_columns", Name: "hash", Config: map[string]any{"Enabled": "true", "HeadersToBeHashed": "email"}, Relations: []dataflow.Relation{{To: "xml"}}},
		{Type: "convert_csv_to_xml", Name: "xml", Config: map[string]any{"xmlFileName": "${filename}.xml"}, Relations: []dataflow.Relation{{To: "enc"}}},
		{Type: "encrypt_content", Name: "enc", Config: map[string]any{"publicKeyFile": map[string]any{"$config": "partnerKey"}, "publicKeyUserId": "partner@example.com"},
			Relations: []dataflow.Relation{{To: "dst"}}},
		{Type: "file_write", Name: "dst", Config: map[string]any{"remotePath": out, "createRemoteDirectory": true, "conflictResolution": "REPLACE"}},
	}}
	f, err := engine.Compile(doc, engine.Options{
		Registry: reg, Resolver: resolver{"ourKey": armored(t, us, true), "partnerKey": armored(t, partner, false)},
		CompileExpr: exprs.Compiler(time.UTC, nil), WorkDir: filepath.Join(dir, "work"),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := f.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, r := range res {
		status[r.Item.Name] = string(r.Status) + " " + r.Error
	}
	if !strings.HasPrefix(strings.ToLower(status["good.csv.gpg"]), "success") {
		t.Errorf("good: %q", status["good.csv.gpg"])
	}
	if !strings.Contains(status["bad.csv.gpg"], "wrong private key") || !strings.Contains(status["bad.csv.gpg"], "block dec") {
		t.Errorf("bad: %q", status["bad.csv.gpg"])
	}
	if _, err := os.Stat(filepath.Join(errDir, "bad.csv.gpg")); err != nil {
		t.Errorf("bad file not in the error location: %v", err)
	}
	// The delivered file is the partner's: decrypt it and parse the XML.
	ct, err := os.ReadFile(filepath.Join(out, "good.csv.xml.gpg"))
	if err != nil {
		entries, _ := os.ReadDir(out)
		t.Fatalf("output: %v (dir has %v)", err, entries)
	}
	md, err := openpgp.ReadMessage(bytes.NewReader(ct), openpgp.EntityList{partner}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	plain.ReadFrom(md.UnverifiedBody)
	var doc2 struct {
		Rows []struct {
			ID    string `xml:"id"`
			Email string `xml:"email"`
		} `xml:"repeat"`
	}
	if err := xml.Unmarshal(plain.Bytes(), &doc2); err != nil {
		t.Fatalf("%v\n%s", err, plain.String())
	}
	if len(doc2.Rows) != 2 || len(doc2.Rows[1].Email) != 64 || strings.Contains(plain.String(), "a@b.c") {
		t.Errorf("xml: %+v\n%s", doc2.Rows, plain.String())
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "work", "blocks", "dec")); len(ents) != 0 {
		t.Errorf("decrypt spills left behind: %d", len(ents))
	}
}
