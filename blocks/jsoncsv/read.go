package jsoncsv

import (
	"errors"
	"fmt"
	"io"

	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/ocf"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/format/csvio"
	"github.com/connectplus/connectplus/jsonv"
)

// Record formats.
const (
	fmtJSON = "json"
	fmtCSV  = "csv"
	fmtAvro = "avro"
)

// recordReader yields records as *jsonv.Object, with a position for
// error messages ("line 12", "record 7").
type recordReader interface {
	Next() (*jsonv.Object, string, error) // io.EOF at the end
}

// maxKeys bounds the header union, so a hostile file with a new key in
// every record cannot grow memory without bound.
const maxKeys = 10000

// jsonReader streams a top-level array, JSON Lines or concatenated values.
type jsonReader struct {
	d *jsonv.Decoder
	n int
}

func (r *jsonReader) Next() (*jsonv.Object, string, error) {
	v, err := r.d.NextElement()
	if err != nil {
		return nil, "", err
	}
	r.n++
	// The decoder reports the line where the value ended, which is the
	// record's line for JSON Lines and compact arrays.
	pos := fmt.Sprintf("record %d (ending on line %d)", r.n, r.d.Line())
	o, ok := v.(*jsonv.Object)
	if !ok {
		return nil, pos, fmt.Errorf("%s is a JSON %s, not an object: records must be JSON objects", pos, jsonv.TypeName(v))
	}
	return o, pos, nil
}

// csvReader reads a delimited file whose first row is the header.
type csvReader struct {
	r      *csvio.Reader
	header []string
}

func newCSVReader(in io.Reader, delim rune) (*csvReader, error) {
	r := csvio.NewReader(in, csvio.Options{Delimiter: delim, TrimBOM: true})
	row, err := r.Read()
	if err == io.EOF {
		return nil, errors.New("the CSV file is empty: no header row")
	}
	if err != nil {
		return nil, fmt.Errorf("CSV header: %w", err)
	}
	return &csvReader{r: r, header: append([]string(nil), row.Fields...)}, nil
}

func (r *csvReader) Next() (*jsonv.Object, string, error) {
	row, err := r.r.Read()
	if err != nil {
		return nil, "", err
	}
	pos := fmt.Sprintf("line %d", row.Line)
	if len(row.Fields) != len(r.header) {
		return nil, pos, fmt.Errorf("line %d has %d fields, the header has %d", row.Line, len(row.Fields), len(r.header))
	}
	o := jsonv.NewObject(len(r.header))
	for i, h := range r.header {
		o.Members = append(o.Members, jsonv.Member{Key: h, Value: row.Fields[i]})
	}
	return o, pos, nil
}

// avroReader reads an Avro object container file; record fields keep the
// order of the writer's schema.
type avroReader struct {
	d      *ocf.Decoder
	schema avro.Schema
	n      int
}

func newAvroReader(in io.Reader) (ar *avroReader, err error) {
	defer func() {
		if p := recover(); p != nil {
			ar, err = nil, fmt.Errorf("corrupt Avro file: %v", p)
		}
	}()
	d, err := ocf.NewDecoder(guardOCF(in))
	if err != nil {
		return nil, fmt.Errorf("not an Avro object container file: %w", err)
	}
	return &avroReader{d: d, schema: d.Schema()}, nil
}

// Next is a safety net around the decoder: a corrupt file must fail the
// file, never the process.
func (r *avroReader) Next() (o *jsonv.Object, pos string, err error) {
	defer func() {
		if p := recover(); p != nil {
			o, err = nil, fmt.Errorf("corrupt Avro file after record %d: %v", r.n, p)
		}
	}()
	return r.next()
}

func (r *avroReader) next() (*jsonv.Object, string, error) {
	if !r.d.HasNext() {
		if err := r.d.Error(); err != nil {
			return nil, "", fmt.Errorf("Avro block after record %d: %w", r.n, err)
		}
		return nil, "", io.EOF
	}
	r.n++
	pos := fmt.Sprintf("record %d", r.n)
	var v any
	if err := r.d.Decode(&v); err != nil {
		return nil, pos, fmt.Errorf("%s: %w", pos, err)
	}
	o, ok := fromAvro(v, r.schema).(*jsonv.Object)
	if !ok {
		return nil, pos, fmt.Errorf("%s is not a record (schema type %s)", pos, r.schema.Type())
	}
	return o, pos, nil
}

// batchReader reads the records of a batch unit.
type batchReader struct {
	b *block.Batch
	i int
}

func (r *batchReader) Next() (*jsonv.Object, string, error) {
	for r.i < len(r.b.Records) {
		i := r.i
		r.i++
		pos := fmt.Sprintf("record %d", i+1)
		switch v := r.b.Value(i).(type) {
		case *jsonv.Object:
			return v, pos, nil
		case []any:
			return nil, pos, fmt.Errorf("%s is an array, not an object (split it with split_json first)", pos)
		default:
			return nil, pos, fmt.Errorf("%s is %s, not an object", pos, jsonv.TypeName(v))
		}
	}
	return nil, "", io.EOF
}
