package jsoncsv

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hamba/avro/v2/ocf"
	"github.com/linkedin/goavro/v2"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/jsonv"
)

type collector struct {
	units []*block.Unit
	rels  []string
}

func (c *collector) Emit(_ context.Context, rel string, u *block.Unit) error {
	c.units = append(c.units, u)
	c.rels = append(c.rels, rel)
	return nil
}
func (c *collector) Ack(*block.Unit, []byte) {}
func (c *collector) Progress(int64)          {}

func newProc(t testing.TB, spec *block.Spec, v map[string]any) block.Processor {
	t.Helper()
	cfg, probs := spec.ParseConfig(v, nil)
	if len(probs) > 0 {
		t.Fatalf("config: %v", probs)
	}
	b, err := spec.New(cfg, &block.Env{Block: "b", WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return b.(block.Processor)
}

func fileUnit(t testing.TB, name string, data []byte) *block.Unit {
	p := filepath.Join(t.TempDir(), name)
	os.WriteFile(p, data, 0o600)
	f, err := block.LocalFile(name, p)
	if err != nil {
		t.Fatal(err)
	}
	return &block.Unit{Attrs: block.Attributes{block.AttrFilename: name, block.AttrLineageID: "L"}, File: f}
}

func readFile(t testing.TB, f *block.File) []byte {
	t.Helper()
	rc, err := f.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", f.Name, err)
	}
	return b
}

const people = `[
 {"id": 1, "name": "Ann, \"A\"", "tags": ["x", "y"]},
 {"id": 2, "mobile": "0044", "name": "Bob\nSmith", "active": true},
 {"id": 3.5, "extra": null, "nested": {"a": 1}}
]`

func TestJSONToCSV(t *testing.T) {
	p := newProc(t, ConvertSpec, map[string]any{})
	var out collector
	if err := p.Process(context.Background(), fileUnit(t, "people.json", []byte(people)), &out); err != nil {
		t.Fatal(err)
	}
	u := out.units[0]
	if u.File.Name != "people.csv" || u.Attrs[AttrRecordCount] != "3" {
		t.Errorf("name %q count %q", u.File.Name, u.Attrs[AttrRecordCount])
	}
	rows, err := csv.NewReader(bytes.NewReader(readFile(t, u.File))).ReadAll()
	if err != nil {
		t.Fatalf("CSV output does not parse: %v", err)
	}
	want := [][]string{
		{"id", "name", "tags", "mobile", "active", "extra", "nested"},
		{"1", `Ann, "A"`, `["x","y"]`, "", "", "", ""},
		{"2", "Bob\nSmith", "", "0044", "true", "", ""},
		{"3.5", "", "", "", "", "", `{"a":1}`},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %q", rows)
	}
	for i := range want {
		if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d = %q, want %q", i, rows[i], want[i])
		}
	}
}

func TestJSONLinesToJSON(t *testing.T) {
	p := newProc(t, ConvertSpec, map[string]any{"record-reader": "8a017c83-018e-1000-0000-0000163e6dac", "record-writer": "7062a35b-0173-1000-6687-2fe95293e13b"})
	var out collector
	if err := p.Process(context.Background(), fileUnit(t, "x.jsonl", []byte("{\"a\":1}\n{\"b\":\"2\"}\n")), &out); err != nil {
		t.Fatal(err)
	}
	v, err := jsonv.Parse(readFile(t, out.units[0].File))
	if err != nil {
		t.Fatal(err)
	}
	if string(jsonv.Marshal(v)) != `[{"a":1},{"b":"2"}]` {
		t.Errorf("got %s", jsonv.Marshal(v))
	}
}

func TestMalformedJSON(t *testing.T) {
	p := newProc(t, ConvertSpec, map[string]any{})
	for in, want := range map[string]string{
		"[\n{\"a\":1},\n{\"a\": tru}\n]": "line 3, column",
		"[{\"a\":1},\n\"str\"]":          "record 2 (ending on line 2) is a JSON string, not an object",
		"[{\"a\":1}, {\"b\":2}":          "unterminated top-level array",
		"{\"a\":\n  \"x\"\n  \"y\"}":     "line 3, column",
	} {
		err := p.Process(context.Background(), fileUnit(t, "bad.json", []byte(in)), &collector{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", in, err, want)
		}
	}
}

// TestAvroOutputReadByGoavro: the OCF file written with hamba/avro is read
// back with goavro, an independent implementation.
func TestAvroOutputReadByGoavro(t *testing.T) {
	schema := `{"type":"record","name":"Customer","fields":[
		{"name":"mobile","type":"string"},
		{"name":"points","type":["null","long"],"default":null},
		{"name":"rate","type":"double"},
		{"name":"vip","type":"boolean"},
		{"name":"tags","type":{"type":"array","items":"string"}}]}`
	p := newProc(t, ConvertSpec, map[string]any{"record-writer": "avro", "schema-text": schema})
	in := `[{"mobile":"0044","points":"12","rate":"1.5","vip":"true","tags":["a"]},{"mobile":"1","points":null,"rate":2,"vip":false,"tags":[]}]`
	var out collector
	if err := p.Process(context.Background(), fileUnit(t, "c.json", []byte(in)), &out); err != nil {
		t.Fatal(err)
	}
	data := readFile(t, out.units[0].File)
	r, err := goavro.NewOCFReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("goavro cannot read the OCF: %v", err)
	}
	var got []map[string]any
	for r.Scan() {
		d, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d.(map[string]any))
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("records %v", got)
	}
	if got[0]["mobile"] != "0044" || got[0]["points"].(map[string]any)["long"] != int64(12) || got[0]["rate"] != 1.5 || got[0]["vip"] != true {
		t.Errorf("record 1 = %#v", got[0])
	}
	if got[1]["points"] != nil || got[1]["rate"] != 2.0 {
		t.Errorf("record 2 = %#v", got[1])
	}

	// A value that does not fit the schema fails the file in Process.
	err = p.Process(context.Background(), fileUnit(t, "c.json", []byte(`[{"mobile":"1","rate":"x","vip":true,"tags":[]}]`)), &collector{})
	if err == nil || !strings.Contains(err.Error(), "$.rate") {
		t.Errorf("bad value: err = %v", err)
	}
}

func TestCSVToInferredAvroAndBack(t *testing.T) {
	p := newProc(t, ConvertSpec, map[string]any{"record-reader": "csv", "record-writer": "avro"})
	var out collector
	if err := p.Process(context.Background(), fileUnit(t, "c.csv", []byte("id,first name,9x\n1,Ann,\n2,Bob,z\n")), &out); err != nil {
		t.Fatal(err)
	}
	data := readFile(t, out.units[0].File)
	r, err := goavro.NewOCFReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for r.Scan() {
		d, _ := r.Read()
		m := d.(map[string]any)
		names = append(names, m["first_name"].(map[string]any)["string"].(string))
	}
	if strings.Join(names, ",") != "Ann,Bob" {
		t.Errorf("names %v", names)
	}
	// Avro back to CSV through the avro reader keeps the schema's order.
	p2 := newProc(t, ConvertSpec, map[string]any{"record-reader": "1e3ae3f8-0195-1000-0000-00000e1a5866"})
	var out2 collector
	if err := p2.Process(context.Background(), fileUnit(t, "c.avro", data), &out2); err != nil {
		t.Fatal(err)
	}
	if got := string(readFile(t, out2.units[0].File)); got != "id,first_name,_9x\n1,Ann,\n2,Bob,z\n" {
		t.Errorf("avro→csv = %q", got)
	}
	if _, err := ocf.NewDecoder(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
}

func TestGroupBy(t *testing.T) {
	p := newProc(t, ConvertSpec, map[string]any{"groupBy": "orgId"})
	in := `{"orgId":1,"v":"a"}
{"orgId":2,"v":"b"}
{"orgId":1,"v":"c","w":"x"}`
	var out collector
	if err := p.Process(context.Background(), fileUnit(t, "resp.json", []byte(in)), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.units) != 2 {
		t.Fatalf("%d units", len(out.units))
	}
	got0, got1 := string(readFile(t, out.units[0].File)), string(readFile(t, out.units[1].File))
	if out.units[0].File.Name != "resp_1.csv" || got0 != "orgId,v,w\n1,a,\n1,c,x\n" || out.units[0].Attrs["orgId"] != "1" {
		t.Errorf("group 1: %s %q", out.units[0].File.Name, got0)
	}
	if got1 != "orgId,v,w\n2,b,\n" {
		t.Errorf("group 2: %q", got1)
	}
	p.(block.LineageEnder).EndLineage(context.Background(), "L", true)
	if ents, _ := filepath.Glob(filepath.Join(p.(*converter).workDir, "*")); len(ents) != 0 {
		t.Errorf("spills left: %v", ents)
	}
}

func TestBatchInput(t *testing.T) {
	p := newProc(t, ConvertSpec, map[string]any{})
	o := jsonv.NewObject(2)
	o.Set("k", "v")
	b := &block.Batch{Header: block.NewHeader([]string{"a", "b"}), Records: []block.Record{{Seq: 1, Cols: []string{"1", "2"}}, {Seq: 2, Value: o}}}
	var out collector
	if err := p.Process(context.Background(), &block.Unit{Attrs: block.Attributes{}, Batch: b}, &out); err != nil {
		t.Fatal(err)
	}
	if got := string(readFile(t, out.units[0].File)); got != "a,b,k\n1,2,\n,,v\n" {
		t.Errorf("got %q", got)
	}
}

// FuzzJSONReader: arbitrary input never panics the converter, and whatever
// it accepts is written as CSV that parses back with the same row count.
func FuzzJSONReader(f *testing.F) {
	f.Add([]byte(people))
	f.Add([]byte("{\"a\":1}\n{\"a\":[1,{\"b\":null}]}"))
	f.Add([]byte("[1,2]"))
	f.Add([]byte("[{\"\\u0000\":\"\\ud800\"}]"))
	f.Add([]byte("[[[[[[[[[[[[[[[[[[[["))
	cv := newProc(f, ConvertSpec, map[string]any{}).(*converter)
	f.Fuzz(func(t *testing.T, data []byte) {
		src := func(context.Context) (recordReader, io.Closer, error) {
			return &jsonReader{d: jsonv.NewDecoder(bytes.NewReader(data))}, io.NopCloser(nil), nil
		}
		p, err := cv.firstPass(context.Background(), src, "f")
		if err != nil {
			return
		}
		rr, _, _ := src(context.Background())
		var buf bytes.Buffer
		if err := cv.write(context.Background(), rr, &buf, p, ','); err != nil {
			t.Fatalf("first pass accepted but write failed: %v", err)
		}
		r := csv.NewReader(&buf)
		r.FieldsPerRecord = -1
		rows, err := r.ReadAll()
		if err != nil {
			t.Fatalf("CSV output does not parse: %v", err)
		}
		if int64(len(rows)) != p.count+1 && !(len(p.header) == 0 && p.count == 0 && len(rows) == 0) {
			t.Fatalf("%d rows for %d records (header %q)", len(rows), p.count, p.header)
		}
	})
}

// FuzzAvroReader: a hostile Avro file fails with an error, never a panic.
func FuzzAvroReader(f *testing.F) {
	var buf bytes.Buffer
	enc, _ := ocf.NewEncoder(`{"type":"record","name":"R","fields":[{"name":"a","type":["null","string"]},{"name":"b","type":{"type":"array","items":"long"}}]}`, &buf)
	enc.Encode(map[string]any{"a": "x", "b": []any{int64(1)}})
	enc.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("Obj\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rr, err := newAvroReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		for i := 0; i < 1000; i++ {
			if _, _, err := rr.Next(); err != nil {
				return
			}
		}
	})
}
