package templates

import (
	"strings"
	"testing"

	"github.com/connectplus/connectplus/blocks/all"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/jsonv"
	"github.com/connectplus/connectplus/lang/jslt"
)

// TestCatalogueLoads: every folder is a well-formed template whose default
// instantiation is a valid dataflow document.
func TestCatalogueLoads(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Names()) == 0 {
		t.Fatal("empty catalogue")
	}
	reg := all.Registry()
	for _, tp := range c.All() {
		doc, err := tp.Instantiate("", nil)
		if err != nil {
			t.Errorf("%s: %v", tp.Name, err)
			continue
		}
		if probs := dataflow.Validate(doc, reg); len(probs) > 0 {
			t.Errorf("%s: default instantiation has problems: %v", tp.Name, probs)
		}
	}
}

// TestCompareReportsDiff: a changed, missing or extra golden file is a
// mismatch with a readable diff.
func TestCompareReportsDiff(t *testing.T) {
	out := &Outcome{Files: map[string][]byte{"a.csv": []byte("h\n1\n2\n3\n"), "new.json": []byte("{}\n")}}
	ms := out.Compare(map[string][]byte{"a.csv": []byte("h\n1\nX\n3\n"), "gone.csv": []byte("x\n")})
	if len(ms) != 3 {
		t.Fatalf("%v", ms)
	}
	if ms[0].Path != "a.csv" || ms[0].Diff != "  h\n  1\n- X\n+ 2\n  3\n" {
		t.Errorf("diff %q", ms[0].Diff)
	}
	if ms[1].Path != "gone.csv" || !strings.Contains(ms[1].Diff, "did not produce") {
		t.Errorf("%v", ms[1])
	}
	if ms[2].Path != "new.json" || !strings.Contains(ms[2].Diff, "no golden") {
		t.Errorf("%v", ms[2])
	}
	if len(out.Compare(out.Files)) != 0 {
		t.Error("equal files mismatch")
	}
}

func TestValuesAndInstantiate(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	tp, ok := c.Get("transaction_v2_add")
	if !ok {
		t.Fatal("transaction_v2_add missing")
	}
	if _, err := tp.Values(map[string]string{"maxRetries": "x", "decryptEnabled": "maybe"}); err == nil ||
		!strings.Contains(err.Error(), `no parameter "maxRetries"`) || !strings.Contains(err.Error(), "not true or false") {
		t.Fatalf("errors: %v", err)
	}
	doc, err := tp.Instantiate("eu_tx", map[string]string{"apiBaseUrl": "https://eu.api.capillarytech.com", "decryptEnabled": "true"})
	if err != nil {
		t.Fatal(err)
	}
	dec, _ := doc.BlockByName("decrypt_data")
	if doc.Name != "eu_tx" || dec.Config["isEnabled"] != "true" {
		t.Errorf("%s %v", doc.Name, dec.Config)
	}
}

// TestTransactionDateFormats: every transaction date format of the January
// 2022 release (seed 002), with its documented sample, is offered by the
// transaction templates and becomes the ISO 8601 billingDate.
func TestTransactionDateFormats(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	samples := map[string]struct{ value, want string }{
		"yyyy-MM-dd HH:mm:ss":        {"2022-02-03 19:00:00", "2022-02-03T19:00:00Z"},
		"dd-MM-yyyy HH:mm:ss":        {"03-02-2022 19:00:00", "2022-02-03T19:00:00Z"},
		"dd/MM/yyyy HH:mm:ss":        {"03/02/2022 19:00:00", "2022-02-03T19:00:00Z"},
		"yyyy-MM-dd HH:mm:ss X":      {"2017-05-11 15:46:48 Z", "2017-05-11T15:46:48Z"},
		"yyyy-MM-dd HH:mm:ss.SSSXXX": {"2022-02-03 12:08:56.235-07:00", "2022-02-03T19:08:56Z"},
		"dd-MMM-yy HH:mm:ss":         {"03-Feb-22 19:00:00", "2022-02-03T19:00:00Z"},
		"M/d/yy HH:mm:ss":            {"2/3/22 19:00:00", "2022-02-03T19:00:00Z"},
		"d/M/yy HH:mm:ss":            {"3/2/22 19:00:00", "2022-02-03T19:00:00Z"},
	}
	checked := 0
	for _, tp := range c.All() {
		var param *Parameter
		for i, p := range tp.Parameters {
			if p.Name == "transactionDateFormat" {
				param = &tp.Parameters[i]
			}
		}
		if param == nil {
			continue
		}
		if len(param.Options) != len(samples) {
			t.Errorf("%s offers %v", tp.Name, param.Options)
		}
		for _, f := range param.Options {
			s, ok := samples[f]
			if !ok {
				t.Errorf("%s: format %q is not one of the release's", tp.Name, f)
				continue
			}
			doc, err := tp.Instantiate("", map[string]string{"transactionDateFormat": f})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := doc.BlockByName("transform_data")
			x, err := jslt.Compile(b.Config["transformation"].(string))
			if err != nil {
				t.Fatalf("%s %s: %v", tp.Name, f, err)
			}
			in, _ := jsonv.ParseString(`[{"bill_date":"` + s.value + `","bill_amount":"1","discount":"0","gross_amount":"1","mobile":"919800000001","bill_number":"B1"}]`)
			out, err := x.Apply(in, nil)
			if err != nil {
				t.Fatalf("%s %s: %v", tp.Name, f, err)
			}
			got := jsonv.Marshal(out)
			if !strings.Contains(string(got), `"billingDate":"`+s.want+`"`) {
				t.Errorf("%s %s: %s", tp.Name, f, got)
			}
			checked++
		}
	}
	if checked < 3*len(samples) {
		t.Errorf("only %d checks: the transaction templates lost their date format", checked)
	}
}
