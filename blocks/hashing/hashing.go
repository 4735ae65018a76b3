// Package hashing implements hash_csv_columns (spec §2.3.3): selected CSV
// columns are replaced, cell by cell, by a one-way hash (lowercase hex) to
// anonymise personal data before a file leaves the platform.
package hashing

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	//lint:ignore SA1019 RIPEMD-160 is a documented Connect+ option; it is only used to mask data, never for security decisions.
	"golang.org/x/crypto/ripemd160"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/format/csvio"
	"github.com/connectplus/connectplus/jsonv"
)

// Algorithms, as Connect+ names them.
var algorithms = map[string]func() hash.Hash{
	"SHA-256":    sha256.New,
	"SHA-512":    sha512.New,
	"MD5":        md5.New,
	"SHA-1":      sha1.New,
	"RIPEMD-160": ripemd160.New,
}

// Spec is hash_csv_columns.
var Spec = &block.Spec{
	Type: "hash_csv_columns", Label: "Hashing (CSV)", Class: block.ClassExecutor, Category: "Security",
	Description: "Replaces the values of the named CSV columns with their hash (lowercase hex), cell by cell, streaming. Empty cells stay empty. " +
		"Header names that are not in the file fail the file with the list of missing names. On record batches the named fields of each record are hashed.",
	LegacyTypes: []string{"hash_csv_fields"},
	Input:       block.KindAny, Output: block.KindAny,
	Fields: []block.Field{
		{Key: "Enabled", Label: "Enabled", Type: block.TypeBool, Required: true, Default: "false", Description: "false passes files through untouched."},
		{Key: "Hashing Algorithm", Label: "Hashing Algorithm", Type: block.TypeEnum, Required: true, Default: "SHA-256",
			Enum: []string{"SHA-256", "SHA-512", "MD5", "SHA-1", "RIPEMD-160"}},
		{Key: "HeadersToBeHashed", Label: "Headers To Be Hashed", Type: block.TypeList, Example: "email,mobile",
			Description: "Comma-separated column names (exact, case-sensitive). Required when enabled."},
		{Key: "Delimiter", Label: "Delimiter", Type: block.TypeString, Required: true, Default: ",",
			Description: "Field delimiter of the file: one character (\\t for tab)."},
	},
	Check: func(c *block.Config) []block.Problem {
		var probs []block.Problem
		if _, err := delimiter(c.String("Delimiter")); err != nil {
			probs = append(probs, block.Problem{Path: "Delimiter", Message: err.Error()})
		}
		if c.Bool("Enabled") && len(c.List("HeadersToBeHashed")) == 0 {
			probs = append(probs, block.Problem{Path: "HeadersToBeHashed", Message: "name at least one column to hash when the block is enabled"})
		}
		return probs
	},
	New: newHasher,
}

// Register adds hash_csv_columns to r.
func Register(r *block.Registry) { r.MustRegister(Spec) }

func delimiter(s string) (byte, error) {
	switch s {
	case "", "null":
		return ',', nil
	case `\t`, "\t", "tab", "TAB":
		return '\t', nil
	}
	if len(s) != 1 || s == `"` || s == "\r" || s == "\n" {
		return 0, fmt.Errorf("delimiter must be one ASCII character other than a quote or line break, got %q", s)
	}
	return s[0], nil
}

type hasher struct {
	enabled bool
	algo    func() hash.Hash
	names   []string
	delim   byte
}

func newHasher(c *block.Config, _ *block.Env) (block.Block, error) {
	h := &hasher{enabled: c.Bool("Enabled"), names: c.List("HeadersToBeHashed")}
	algo, ok := algorithms[c.String("Hashing Algorithm")]
	if !ok {
		return nil, fmt.Errorf("unknown Hashing Algorithm %q", c.String("Hashing Algorithm"))
	}
	h.algo = algo
	d, err := delimiter(c.String("Delimiter"))
	if err != nil {
		return nil, err
	}
	h.delim = d
	if h.enabled && len(h.names) == 0 {
		return nil, errors.New("HeadersToBeHashed is empty")
	}
	return h, nil
}

// cellHasher hashes strings into a reused buffer.
type cellHasher struct {
	h   hash.Hash
	sum []byte
	hex []byte
}

func (c *cellHasher) hash(v string) string {
	if v == "" {
		return ""
	}
	c.h.Reset()
	io.WriteString(c.h, v)
	c.sum = c.h.Sum(c.sum[:0])
	c.hex = hex.AppendEncode(c.hex[:0], c.sum)
	return string(c.hex)
}

func (h *hasher) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	if !h.enabled {
		return out.Emit(ctx, block.RelSuccess, u)
	}
	if u.Batch != nil {
		if err := h.hashBatch(u.Batch); err != nil {
			return err
		}
		return out.Emit(ctx, block.RelSuccess, u)
	}
	// Check the header now, so a wrong column name fails the file in this
	// block rather than half-way through a downstream upload.
	if _, err := h.columns(ctx, u.File); err != nil {
		return err
	}
	src := u.File
	nu := u.Derive()
	nu.File = block.NewFile(src.Name, -1, func(ctx context.Context) (io.ReadCloser, error) {
		in, err := src.Open(ctx)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", src.Name, err)
		}
		pr, pw := io.Pipe()
		go func() {
			err := h.stream(ctx, in, pw)
			in.Close()
			if err != nil {
				err = fmt.Errorf("hash_csv_columns %s: %w", src.Name, err)
			}
			pw.CloseWithError(err)
		}()
		return pr, nil
	})
	nu.File.ModTime = src.ModTime
	delete(nu.Attrs, block.AttrFileSize)
	return out.Emit(ctx, block.RelSuccess, nu)
}

func (h *hasher) reader(r io.Reader) *csvio.Reader {
	return csvio.NewReader(r, csvio.Options{Delimiter: rune(h.delim), TrimBOM: true})
}

// columns reads the header of f and returns the indexes to hash.
func (h *hasher) columns(ctx context.Context, f *block.File) ([]int, error) {
	in, err := f.Open(ctx)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", f.Name, err)
	}
	defer in.Close()
	row, err := h.reader(in).Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s is empty: no header row", f.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", f.Name, err)
	}
	return h.indexes(row.Fields)
}

func (h *hasher) indexes(header []string) ([]int, error) {
	pos := make(map[string]int, len(header))
	for i, n := range header {
		if _, dup := pos[n]; !dup {
			pos[n] = i
		}
	}
	var idx []int
	var missing []string
	for _, n := range h.names {
		i, ok := pos[n]
		if !ok {
			missing = append(missing, n)
			continue
		}
		idx = append(idx, i)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("HeadersToBeHashed names columns that are not in the file: %s (file header: %s)", strings.Join(missing, ", "), strings.Join(header, string(h.delim)))
	}
	return idx, nil
}

func (h *hasher) stream(ctx context.Context, in io.Reader, w io.Writer) error {
	rd := h.reader(in)
	wr := csvio.NewWriter(w, h.delim)
	ch := &cellHasher{h: h.algo()}
	var idx []int
	out := []string(nil)
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		row, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// A row that cannot be parsed cannot be masked: passing it on
			// would leak it, dropping it would lose it silently.
			return fmt.Errorf("cannot hash a malformed row: %w", err)
		}
		if idx == nil {
			if idx, err = h.indexes(row.Fields); err != nil {
				return err
			}
			if err := wr.Write(row.Fields); err != nil {
				return err
			}
			continue
		}
		out = append(out[:0], row.Fields...)
		for _, i := range idx {
			if i < len(out) {
				out[i] = ch.hash(out[i])
			}
		}
		if err := wr.Write(out); err != nil {
			return err
		}
	}
	if idx == nil {
		return errors.New("the file is empty: no header row")
	}
	return wr.Flush()
}

// hashBatch hashes the named fields of every record. Cols keep the source
// values (they are what the result file reports); the record's value gets
// the hashes.
func (h *hasher) hashBatch(b *block.Batch) error {
	if b.Header != nil {
		var missing []string
		for _, n := range h.names {
			if b.Header.Index(n) < 0 {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 && len(b.Records) > 0 && b.Records[0].Value == nil {
			return fmt.Errorf("HeadersToBeHashed names fields that are not in the records: %s (fields: %s)", strings.Join(missing, ", "), strings.Join(b.Header.Names, ","))
		}
	}
	ch := &cellHasher{h: h.algo()}
	for i := range b.Records {
		o, ok := b.Value(i).(*jsonv.Object)
		if !ok {
			continue
		}
		for _, n := range h.names {
			if v, ok := o.Get(n); ok && v != nil {
				o.Set(n, ch.hash(block.ScalarString(v)))
			}
		}
	}
	return nil
}
