package all_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block/exprs"
	"github.com/connectplus/connectplus/blocks/all"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/engine"
	"github.com/connectplus/connectplus/sandbox"
)

type secrets map[string]string

func (s secrets) Resolve(name string) (string, error) { return s[name], nil }

// TestGen1TransformDataRunsAfterImport: an old Connect+ export whose
// Transform Data block maps a pipe-delimited bill file to the transaction
// API (a constant, a SpEL expression, a date format, a filter) imports into
// the Gen-2 chain, validates, and posts the right transactions to the
// sandbox.
func TestGen1TransformDataRunsAfterImport(t *testing.T) {
	s, ts := sandbox.NewTestServer(sandbox.Config{})
	defer ts.Close()
	key, secret := s.Credentials()
	in, done, errs := t.TempDir(), t.TempDir(), t.TempDir()
	csv := "Bill No|amount|bill_date|mobile|status\n" +
		"B-1|100|11/04/2025 11:00:00|919800000001|paid\n" +
		"B-2|50|12/04/2025 12:30:00|919800000002|unpaid\n" +
		"B-3|70|13/04/2025 09:15:05|919800000003|paid\n"
	if err := os.WriteFile(filepath.Join(in, "bills.csv"), []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	mapping, _ := json.Marshal(map[string]string{
		"billNumber": "Bill No", "billAmount": "exp{hdr{amount} * 2}", "billingDate": "bill_date",
		"type": "const{REGULAR}", "source": "const{INSTORE}", "identifierType": "const{mobile}", "identifierValue": "mobile",
	})
	export, _ := json.Marshal(map[string]any{
		"name": "Gen-1 transactions",
		"blocks": []any{
			map[string]any{"name": "source", "type": "file_read", "order": 0,
				"config":      map[string]any{"sourceDirectory": in, "processedDirectory": done, "apiErrorFilePath": errs, "fileRegex": ".*.csv", "stabilityWait": "0s"},
				"connections": []any{map[string]any{"relationship": "splits", "destinationBlockName": "Transform-Data"}}},
			map[string]any{"name": "Transform-Data", "type": "transform_to_transaction", "order": 1,
				"fields": []any{
					map[string]any{"name": "File Delimiter", "value": "|"},
					map[string]any{"name": "Records Per Split", "value": "10"},
					map[string]any{"name": "Format Transaction Date", "value": "true"},
					map[string]any{"name": "Transaction Date Format", "value": "dd/MM/yyyy HH:mm:ss"},
					map[string]any{"name": "Filter Header", "value": "status"},
					map[string]any{"name": "Filter Condition", "value": "${header_value:equals('paid')}"},
					map[string]any{"name": "mapping", "value": string(mapping)},
				},
				"connections": []any{map[string]any{"relationship": "splits", "destinationBlockName": "Connect-to-destination"}}},
			map[string]any{"name": "Connect-to-destination", "type": "http_write", "order": 2,
				"config": map[string]any{"clientKey": key, "apiBaseUrl": ts.URL, "oAuthBaseUrl": ts.URL,
					"apiEndPoint": "/v2/transactions/bulk", "responseSplitPath": "$.response[*]",
					"parsePathMap": `{"status_code":"$.['errors'].*.code","error_message":"$.['errors'].*.message","entity_id":"$.entityId"}`},
				"variableConfigKeyMap": map[string]any{"clientSecret": "capillary.secret"}},
		},
	})
	reg := all.Registry()
	doc, probs := dataflow.ImportConnectPlus(export, reg)
	for _, p := range probs {
		t.Log("import:", p)
	}
	if vp := dataflow.Validate(doc, reg); len(vp) > 0 {
		t.Fatalf("the imported document does not validate: %v", vp)
	}
	f, err := engine.Compile(doc, engine.Options{Registry: reg, Resolver: secrets{"capillary.secret": secret},
		Compiler: exprs.NewStep(exprs.Options{}), CompileExpr: exprs.Compiler(nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := f.RunOnce(ctx)
	if err != nil || len(res) != 1 {
		t.Fatalf("run: %v %+v", err, res)
	}
	if c := res[0].Counts; c.In != 3 || c.Delivered != 2 || c.Filtered != 1 || c.Failed != 0 {
		t.Fatalf("counts %+v (%s)", c, res[0].Error)
	}
	got := map[string]string{}
	for _, e := range s.Entities("transaction") {
		var b struct {
			BillNumber string `json:"billNumber"`
		}
		_ = json.Unmarshal(e.Body, &b)
		got[b.BillNumber] = string(e.Body)
	}
	if len(got) != 2 {
		t.Fatalf("transactions %v", got)
	}
	for bill, want := range map[string][]string{
		"B-1": {`"billAmount":"200"`, `"billingDate":"2025-04-11T11:00:00"`, `"type":"REGULAR"`, `"identifierValue":"919800000001"`},
		"B-3": {`"billAmount":"140"`, `"billingDate":"2025-04-13T09:15:05"`},
	} {
		for _, w := range want {
			if !strings.Contains(got[bill], w) {
				t.Errorf("bill %s: %s lacks %s", bill, got[bill], w)
			}
		}
	}
}
