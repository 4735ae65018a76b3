package xml

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/format/csvio"
)

type collector struct{ units []*block.Unit }

func (c *collector) Emit(_ context.Context, _ string, u *block.Unit) error {
	c.units = append(c.units, u)
	return nil
}
func (c *collector) Ack(*block.Unit, []byte) {}
func (c *collector) Progress(int64)          {}

func conv(t testing.TB, v map[string]any) *converter {
	t.Helper()
	cfg, probs := Spec.ParseConfig(v, nil)
	if len(probs) > 0 {
		t.Fatalf("config: %v", probs)
	}
	b, err := Spec.New(cfg, &block.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return b.(*converter)
}

// parsed is the document as a real XML parser sees it: the row elements'
// children as (name, text) pairs.
type parsed struct {
	rows [][][2]string
}

func parse(t testing.TB, doc []byte, rowName string) parsed {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	var p parsed
	var cur [][2]string
	var inRow bool
	var field string
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("output is not well-formed XML: %v\n%s", err, doc)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			switch {
			case x.Name.Local == rowName && !inRow:
				inRow, cur = true, nil
			case inRow:
				field = x.Name.Local
				text.Reset()
			}
		case xml.CharData:
			if field != "" {
				text.Write(x)
			}
		case xml.EndElement:
			switch {
			case field != "" && x.Name.Local == field:
				cur = append(cur, [2]string{field, text.String()})
				field = ""
			case inRow && x.Name.Local == rowName:
				p.rows = append(p.rows, cur)
				inRow = false
			}
		}
	}
	return p
}

func TestConvertHostile(t *testing.T) {
	c := conv(t, map[string]any{
		"xmlTop": `<?xml version="1.0" encoding="UTF-8"?><records>`, "xmlBottom": "</records>",
		"xmlRepeatingComponent": `<record type="a&amp;b">`, "xmlFileName": "out.xml", "inputFileDelimiter": ",",
	})
	var in bytes.Buffer
	w := csvio.NewWriter(&in, ',')
	header := []string{"id", "e-mail", "1st name", "<script>", "a:b", "", "x\"y", "ünï"}
	values := []string{"1", "a&b<c>", "]]>", "</record><evil/>", "tab\there\r\nnew", "ctl\x01\x0b\x1f", `"quoted" 'x'`, "ok"}
	w.Write(header)
	w.Write(values)
	w.Flush()
	var out bytes.Buffer
	if err := c.Convert(context.Background(), &in, &out); err != nil {
		t.Fatal(err)
	}
	p := parse(t, out.Bytes(), "record")
	if len(p.rows) != 1 || len(p.rows[0]) != len(header) {
		t.Fatalf("rows = %v\n%s", p.rows, out.String())
	}
	wantNames := []string{"id", "e-mail", "_1st_name", "_script_", "a_b", "_", "x_y", "ünï"}
	for i, f := range p.rows[0] {
		if f[0] != wantNames[i] {
			t.Errorf("name %d = %q, want %q", i, f[0], wantNames[i])
		}
		want := values[i]
		if i == 5 {
			want = "ctl\uFFFD\uFFFD\uFFFD"
		}
		if f[1] != want {
			t.Errorf("value %d = %q, want %q", i, f[1], want)
		}
	}
}

func TestProcessNameAndErrors(t *testing.T) {
	c := conv(t, map[string]any{})
	p := filepath.Join(t.TempDir(), "in.csv")
	os.WriteFile(p, []byte("a,b\n1,2\n3\n"), 0o600)
	f, _ := block.LocalFile("in.csv", p)
	var out collector
	if err := c.Process(context.Background(), &block.Unit{Attrs: block.Attributes{}, File: f}, &out); err != nil {
		t.Fatal(err)
	}
	u := out.units[0]
	if u.File.Name != "output.xml" || u.Attrs[block.AttrFilename] != "output.xml" {
		t.Errorf("name %q", u.File.Name)
	}
	rc, _ := u.File.Open(context.Background())
	_, err := io.ReadAll(rc)
	if err == nil || !strings.Contains(err.Error(), "line 3 has 1 fields") {
		t.Fatalf("err = %v", err)
	}
	// Default template: <xml>, <repeat></repeat>, </xml>.
	var buf bytes.Buffer
	if err := c.Convert(context.Background(), strings.NewReader("a,b\n1,2\n"), &buf); err != nil {
		t.Fatal(err)
	}
	if got := parse(t, buf.Bytes(), "repeat"); len(got.rows) != 1 || got.rows[0][1] != [2]string{"b", "2"} {
		t.Fatalf("default template: %v\n%s", got.rows, buf.String())
	}
}

func TestConfigRejectsBrokenFrames(t *testing.T) {
	for _, v := range []map[string]any{
		{"xmlTop": "<a>", "xmlBottom": "</b>"},
		{"xmlTop": "<a>", "xmlBottom": ""},
		{"xmlTop": "", "xmlBottom": ""},
		{"xmlRepeatingComponent": "record"},
		{"xmlRepeatingComponent": "<1bad>"},
		{"inputFileDelimiter": ",,"},
	} {
		if _, probs := Spec.ParseConfig(v, nil); len(probs) == 0 {
			t.Errorf("%v accepted", v)
		}
	}
	c := conv(t, map[string]any{"xmlRepeatingComponent": "<a x='1'><b/></a>", "inputFileDelimiter": "|"})
	var buf bytes.Buffer
	if err := c.Convert(context.Background(), strings.NewReader("k|v\n1|2\n"), &buf); err != nil {
		t.Fatal(err)
	}
	if got := parse(t, buf.Bytes(), "b"); len(got.rows) != 1 || got.rows[0][0] != [2]string{"k", "1"} {
		t.Fatalf("nested: %v\n%s", got.rows, buf.String())
	}
}

func TestSanitizeName(t *testing.T) {
	for in, want := range map[string]string{"a": "a", "9": "_9", "-x": "_-x", ".x": "_.x", "a b": "a_b", "": "_", "x.y-z_1": "x.y-z_1", "a:b": "a_b", "<>": "__", "\xff": "_"} {
		if got := SanitizeName(in); got != want {
			t.Errorf("SanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzConvert: whatever the CSV, the output is well-formed XML (checked
// with encoding/xml) or a clear error.
func FuzzConvert(f *testing.F) {
	f.Add([]byte("a,b\n1,2\n"))
	f.Add([]byte("\"a\nb\",<c>\n]]>,&amp;\n"))
	f.Add([]byte("\xef\xbb\xbfx\n\x00\n"))
	f.Add([]byte("9,:,\"\"\"\"\n1,2,3\n"))
	c := conv(f, map[string]any{"xmlTop": "<r>", "xmlBottom": "</r>", "xmlRepeatingComponent": "<row>"})
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		if err := c.Convert(context.Background(), bytes.NewReader(data), &out); err != nil {
			return
		}
		d := xml.NewDecoder(&out)
		d.Strict = true
		for {
			_, err := d.Token()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("not well-formed: %v\ninput %q\noutput %q", err, data, out.String())
			}
		}
	})
}
