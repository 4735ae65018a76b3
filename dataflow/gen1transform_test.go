package dataflow

import (
	"reflect"
	"strings"
	"testing"
)

// A Gen-1 transaction template's Transform Data block, as the DIY template
// response carries it (fields with the UI labels).
const gen1Transaction = `{
  "name": "Transaction V2 add",
  "blocks": [
    {"name": "Connect-to-source", "type": "sftp_pull", "order": 0,
     "connections": [{"relationship": "splits", "destinationBlockName": "Transform-Data"}]},
    {"name": "Transform-Data", "type": "transform_to_transaction", "order": 1,
     "fields": [
       {"name": "File Delimiter", "value": "|"},
       {"name": "Records Per Split", "value": "50"},
       {"name": "Format Transaction Date", "value": "true"},
       {"name": "Transaction Date Format", "value": "dd/MM/yyyy HH:mm:ss"},
       {"name": "Filter Header", "value": "status"},
       {"name": "Filter Condition", "value": "${header_value:equals('paid')}"},
       {"name": "Intouch Org", "value": "100458"},
       {"name": "Unexpected", "value": "x"},
       {"name": "mapping", "value": "{\"billNumber\": \"Bill No\", \"billAmount\": \"amount\", \"billingDate\": \"bill_date\", \"type\": \"const{REGULAR}\", \"source\": \"const(INSTORE)\", \"identifierType\": \"const{mobile}\", \"identifierValue\": \"mobile\", \"lineItemsV2[].itemCode\": \"sku\", \"lineItemsV2[].amount\": \"exp{hdr{amount} * 1}\", \"extendedFields.currencyCode\": \"const{INR}\"}"}
     ],
     "connections": [{"relationship": "splits", "destinationBlockName": "Connect-to-destination"}]},
    {"name": "Connect-to-destination", "type": "intouch_transaction_v2", "order": 2}
  ]
}`

func TestImportExpandsGen1TransformData(t *testing.T) {
	doc, probs := ImportConnectPlus([]byte(gen1Transaction), testRegistry(t))
	var names, types []string
	for _, b := range doc.Blocks {
		names = append(names, b.Name)
		types = append(types, b.Type)
	}
	wantNames := []string{"Connect_to_source", "Transform_Data", "Transform_Data_json", "Transform_Data_filter", "Transform_Data_jslt", "Connect_to_destination"}
	wantTypes := []string{"sftp_read", "transform_header_data", "convert_csv_to_json", "filter_on_condition", "jslt_transform", "http_write"}
	if !reflect.DeepEqual(names, wantNames) || !reflect.DeepEqual(types, wantTypes) {
		t.Fatalf("blocks %v %v\n%s", names, types, problemList(probs))
	}
	rel := func(i int) []Relation { return doc.Blocks[i].Relations }
	if !reflect.DeepEqual(rel(0), []Relation{{To: "Transform_Data"}}) || !reflect.DeepEqual(rel(1), []Relation{{To: "Transform_Data_json"}}) ||
		!reflect.DeepEqual(rel(3), []Relation{{To: "Transform_Data_jslt"}}) || !reflect.DeepEqual(rel(4), []Relation{{To: "Connect_to_destination"}}) {
		t.Fatalf("relations %v %v %v %v", rel(0), rel(1), rel(3), rel(4))
	}
	hdr := doc.Blocks[1].Config
	if hdr["inputFileDelimiter"] != "|" || hdr["outputHeadersOrder"] != "Bill_No,amount,bill_date,mobile,sku,status,expr_1" ||
		!strings.Contains(hdr["headersMapping"].(string), `"expr_1":"exp{hdr{amount} * 1}"`) {
		t.Fatalf("headers block %v", hdr)
	}
	if !strings.Contains(hdr["headersMapping"].(string), `"Bill_No":"Bill No"`) {
		t.Fatalf("a header with a space is written under a name without: %v", hdr)
	}
	if cc := doc.Blocks[2].Config; cc["groupSize"] != "50" || cc["header_value"] != "status" || cc["File Delimiter"] != nil {
		t.Fatalf("convert block %v", cc)
	}
	if doc.Blocks[3].Config["filterCondition"] != "${header_value:equals('paid')}" {
		t.Fatalf("filter %v", doc.Blocks[3].Config)
	}
	q := doc.Blocks[4].Config["transformation"].(string)
	for _, want := range []string{
		`"billNumber": .Bill_No`, `"type": "REGULAR"`, `"source": "INSTORE"`, `"identifierValue": .mobile`,
		`"billingDate": if (.bill_date) format-time(parse-time(.bill_date, "dd/MM/yyyy HH:mm:ss"), "yyyy-MM-dd'T'HH:mm:ss") else null`,
		`"lineItemsV2": [{`, `"itemCode": .sku`, `"amount": .expr_1`, `"extendedFields": {`, `"currencyCode": "INR"`,
	} {
		if !strings.Contains(q, want) {
			t.Errorf("JSLT lacks %s:\n%s", want, q)
		}
	}
	for path, msg := range map[string]string{
		"blocks[1].config":            "Intouch Org",
		"blocks[1].config.Unexpected": "not carried over",
		"blocks[1].type":              "became transform_header_data → convert_csv_to_json → filter_on_condition → jslt_transform",
	} {
		if !hasProblem(probs, path, msg) {
			t.Errorf("missing problem %s: %s\n%s", path, msg, problemList(probs))
		}
	}
}

// A Gen-2 export of a migrated flow keeps its jslt_transform as it is.
func TestImportKeepsAMigratedJSLT(t *testing.T) {
	doc, _ := ImportConnectPlus([]byte(`{"name":"x","blocks":[{"name":"t","type":"transform_to_customer","config":{"transformation":"."}}]}`), testRegistry(t))
	if len(doc.Blocks) != 1 || doc.Blocks[0].Config["transformation"] != "." {
		t.Fatalf("blocks %+v", doc.Blocks)
	}
}

// Without a headers step the JSLT reads the file's header names as they are.
func TestImportGen1TransformWithoutExpressions(t *testing.T) {
	doc, _ := ImportConnectPlus([]byte(`{"name":"x","blocks":[{"name":"t","type":"transform_to_customer",
	  "config":{"Field Mapping":[{"apiField":"profiles[].identifiers[].value","fileHeader":"Mobile No"},{"apiField":"profiles[].source","fileHeader":"const{INSTORE}"}]}}]}`), testRegistry(t))
	if len(doc.Blocks) != 2 || doc.Blocks[0].Type != "convert_csv_to_json" || doc.Blocks[0].Name != "t" || doc.Blocks[1].Name != "t_jslt" {
		t.Fatalf("blocks %+v", doc.Blocks)
	}
	q := doc.Blocks[1].Config["transformation"].(string)
	if !strings.Contains(q, `"value": get-key(., "Mobile No")`) || !strings.Contains(q, `"profiles": [{`) || !strings.Contains(q, `"source": "INSTORE"`) {
		t.Fatalf("JSLT:\n%s", q)
	}
}
