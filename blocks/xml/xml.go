// Package xml implements convert_csv_to_xml (spec §2.4.8): each CSV row
// becomes one repeating element with a child element per column, between a
// configured top and bottom. Output is streamed and always well-formed:
// values are escaped by encoding/xml, characters XML cannot carry are
// replaced, and element names are derived from headers by a sanitiser, so
// neither values nor header names can inject markup.
package xml

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/format/csvio"
)

// Spec is convert_csv_to_xml.
var Spec = &block.Spec{
	Type: "convert_csv_to_xml", Label: "Transform (CSV to XML)", Class: block.ClassExecutor, Category: "Transformation",
	Description: "Converts a delimited file to XML: XML Top, then for each row the repeating element holding one child element per column (named after the header), then XML Bottom. " +
		"Header names become element names: characters not allowed in XML names become _, and a name that cannot start an element (a digit, -, .) gets a leading _. " +
		"Values are escaped; characters XML 1.0 cannot represent become U+FFFD. A row whose number of fields differs from the header fails the file with its line number.",
	LegacyTypes: []string{"csv_to_xml_converter"},
	Input:       block.KindFile, Output: block.KindFile,
	Fields: []block.Field{
		{Key: "xmlTop", Label: "XML Top", Type: block.TypeText, Required: true, Default: "<xml>", Example: `<?xml version="1.0" encoding="UTF-8"?><records>`,
			Description: "Written before the rows: an optional XML declaration and the opening wrapper element(s)."},
		{Key: "xmlFileName", Label: "XML file name", Type: block.TypeString, Required: true, Default: "output.xml", SupportsExpressions: true,
			Example: "${filename:substringBeforeLast('.')}.xml", Description: "Name of the XML file (NiFi Expression Language over the file's attributes)."},
		{Key: "xmlRepeatingComponent", Label: "XML Repeating Component", Type: block.TypeText, Required: true, Default: "<repeat></repeat>", Example: "<record>",
			Description: "The element wrapping each row, e.g. <record> or <record></record>; nested elements (<a><b/></a>) nest each row; attributes are kept."},
		{Key: "inputFileDelimiter", Label: "Input File Delimiter", Type: block.TypeString, Required: true, Default: ",",
			Description: "Field delimiter of the CSV file: one character (\\t for tab)."},
		{Key: "xmlBottom", Label: "XML Bottom", Type: block.TypeText, Required: true, Default: "</xml>", Example: "</records>",
			Description: "Written after the rows: the closing wrapper element(s)."},
	},
	Check: func(c *block.Config) []block.Problem {
		var probs []block.Problem
		if _, err := delimiter(c.String("inputFileDelimiter")); err != nil {
			probs = append(probs, block.Problem{Path: "inputFileDelimiter", Message: err.Error()})
		}
		if _, err := repeating(c.String("xmlRepeatingComponent")); err != nil {
			probs = append(probs, block.Problem{Path: "xmlRepeatingComponent", Message: err.Error()})
		}
		if err := checkFrame(c.String("xmlTop"), c.String("xmlBottom")); err != nil {
			probs = append(probs, block.Problem{Path: "xmlTop", Message: err.Error()})
		}
		return probs
	},
	New: newConverter,
}

// Register adds convert_csv_to_xml to r.
func Register(r *block.Registry) { r.MustRegister(Spec) }

func delimiter(s string) (rune, error) {
	switch s {
	case "", "null":
		return ',', nil
	case `\t`, "\t", "tab", "TAB":
		return '\t', nil
	}
	r, n := utf8.DecodeRuneInString(s)
	if n != len(s) || r == '"' || r == '\r' || r == '\n' || r == utf8.RuneError {
		return 0, fmt.Errorf("delimiter must be one character other than a quote or line break, got %q", s)
	}
	return r, nil
}

// checkFrame makes sure top + bottom form a well-formed document with room
// for the rows, so the output as a whole is well-formed.
func checkFrame(top, bottom string) error {
	d := xml.NewDecoder(strings.NewReader(top + "<_row_/>" + bottom))
	d.Strict = true
	depth, roots := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("xmlTop and xmlBottom do not form well-formed XML around the rows: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
			if t.Name.Local == "_row_" && depth == 1 {
				return errors.New("xmlTop must open a root element that xmlBottom closes (rows need one enclosing element)")
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return fmt.Errorf("text %q outside the root element", string(t))
			}
		}
	}
	if depth != 0 {
		return errors.New("xmlBottom does not close every element xmlTop opens")
	}
	if roots != 1 {
		return fmt.Errorf("xmlTop and xmlBottom form %d root elements; XML allows exactly one", roots)
	}
	return nil
}

// rowElement is one element of the repeating component's path.
type rowElement struct {
	open  string // <name attr="v">
	close string // </name>
}

// repeating parses the repeating component into the nested elements each
// row is wrapped in.
func repeating(src string) ([]rowElement, error) {
	d := xml.NewDecoder(strings.NewReader(src))
	d.Strict = false // "<record>" alone is the documented form: unclosed is fine
	var path []rowElement
	for {
		tok, err := d.Token()
		if err == io.EOF || (err != nil && len(path) > 0) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not an element: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			name := se.Name.Local
			if se.Name.Space != "" {
				name = se.Name.Space + ":" + name
			}
			if SanitizeName(name) != name {
				return nil, fmt.Errorf("%q is not a valid element name", name)
			}
			var b strings.Builder
			b.WriteString("<" + name)
			for _, a := range se.Attr {
				an := a.Name.Local
				if a.Name.Space != "" {
					an = a.Name.Space + ":" + an
				}
				b.WriteString(" " + an + `="`)
				xml.EscapeText(&b, []byte(a.Value))
				b.WriteString(`"`)
			}
			b.WriteString(">")
			path = append(path, rowElement{open: b.String(), close: "</" + name + ">"})
			continue
		}
		if _, ok := tok.(xml.EndElement); ok {
			break
		}
	}
	if len(path) == 0 {
		return nil, fmt.Errorf("no element in %q (expected something like <record>)", src)
	}
	return path, nil
}

// SanitizeName turns a header into an XML element name: characters that are
// not name characters become _, and a name that would start with a digit,
// '-' or '.' (or is empty) gets a leading _. Colons are replaced too: a
// header must not pick an XML namespace.
func SanitizeName(h string) string {
	var b strings.Builder
	b.Grow(len(h) + 1)
	for i, r := range h {
		ok := r == '_' || unicode.IsLetter(r) || (i > 0 && (unicode.IsDigit(r) || r == '-' || r == '.'))
		if i == 0 && !ok && (unicode.IsDigit(r) || r == '-' || r == '.') {
			b.WriteByte('_')
			b.WriteRune(r)
			continue
		}
		if !ok || r == utf8.RuneError {
			r = '_'
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

type converter struct {
	top, bottom string
	row         []rowElement
	delim       rune
	name        *block.Template
}

func newConverter(c *block.Config, env *block.Env) (block.Block, error) {
	cv := &converter{top: c.String("xmlTop"), bottom: c.String("xmlBottom")}
	var err error
	if cv.delim, err = delimiter(c.String("inputFileDelimiter")); err != nil {
		return nil, err
	}
	if cv.row, err = repeating(c.String("xmlRepeatingComponent")); err != nil {
		return nil, fmt.Errorf("xmlRepeatingComponent: %w", err)
	}
	if err := checkFrame(cv.top, cv.bottom); err != nil {
		return nil, err
	}
	if cv.name, err = env.CompileTemplate(c.String("xmlFileName")); err != nil {
		return nil, fmt.Errorf("xmlFileName: %w", err)
	}
	return cv, nil
}

func (cv *converter) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	if u.File == nil {
		return errors.New("convert_csv_to_xml takes a CSV file; it received records")
	}
	name, err := cv.name.Eval(u.Attrs)
	if err != nil {
		return fmt.Errorf("xmlFileName: %w", err)
	}
	if strings.TrimSpace(name) == "" || strings.ContainsAny(name, "/\\\x00") {
		return fmt.Errorf("xmlFileName evaluated to %q, which is not a file name", name)
	}
	src := u.File
	nu := u.Derive()
	nu.File = block.NewFile(name, -1, func(ctx context.Context) (io.ReadCloser, error) {
		in, err := src.Open(ctx)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", src.Name, err)
		}
		pr, pw := io.Pipe()
		go func() {
			err := cv.Convert(ctx, in, pw)
			in.Close()
			if err != nil {
				err = fmt.Errorf("convert_csv_to_xml %s: %w", src.Name, err)
			}
			pw.CloseWithError(err)
		}()
		return pr, nil
	})
	nu.File.ModTime = src.ModTime
	nu.Attrs[block.AttrFilename] = name
	nu.Attrs[block.AttrMimeType] = "application/xml"
	delete(nu.Attrs, block.AttrFileSize)
	return out.Emit(ctx, block.RelSuccess, nu)
}

// Convert writes the XML for the CSV read from in.
func (cv *converter) Convert(ctx context.Context, in io.Reader, w io.Writer) error {
	rd := csvio.NewReader(in, csvio.Options{Delimiter: cv.delim, TrimBOM: true})
	bw := bufio.NewWriterSize(w, 64<<10)
	head, err := rd.Read()
	if err == io.EOF {
		return errors.New("the file is empty: no header row")
	}
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	// Pre-render the child tags once per file.
	opens := make([]string, len(head.Fields))
	closes := make([]string, len(head.Fields))
	for i, h := range head.Fields {
		n := SanitizeName(strings.TrimSpace(h))
		opens[i], closes[i] = "<"+n+">", "</"+n+">"
	}
	indent := strings.Repeat("  ", len(cv.row)+1)
	bw.WriteString(cv.top)
	bw.WriteByte('\n')
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		row, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if len(row.Fields) != len(head.Fields) {
			return fmt.Errorf("line %d has %d fields, the header has %d", row.Line, len(row.Fields), len(head.Fields))
		}
		for d, e := range cv.row {
			bw.WriteString(strings.Repeat("  ", d+1))
			bw.WriteString(e.open)
			bw.WriteByte('\n')
		}
		for i, v := range row.Fields {
			bw.WriteString(indent)
			bw.WriteString(opens[i])
			if err := xml.EscapeText(bw, []byte(v)); err != nil {
				return err
			}
			bw.WriteString(closes[i])
			bw.WriteByte('\n')
		}
		for d := len(cv.row) - 1; d >= 0; d-- {
			bw.WriteString(strings.Repeat("  ", d+1))
			bw.WriteString(cv.row[d].close)
			bw.WriteByte('\n')
		}
	}
	bw.WriteString(cv.bottom)
	bw.WriteByte('\n')
	return bw.Flush()
}
