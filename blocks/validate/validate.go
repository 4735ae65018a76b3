// Package validate holds the validation blocks: validate_records, a local
// per-column rule check of records that needs no Databricks, and the
// Databricks blocks databricks_validation (spec §2.4.13) and
// databricks_job_trigger_and_status_check (§2.4.14), which drive the
// Databricks Jobs API 2.1.
package validate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/jsonv"
)

// FailureCode is the status_code of a record that breaks a rule, as an API
// would answer a bad request.
const FailureCode = 400

// RecordsSpec is validate_records.
var RecordsSpec = &block.Spec{
	Type: "validate_records", Label: "Validate Records", Class: block.ClassExecutor, Category: "Transformation",
	Description: "Checks every record against per-column rules and sends the records that break one on the failure relation " +
		"(status_code 400, error_message naming the column, the rule and the value, e.g. bill_amount: must be a decimal (rule type=decimal), got \"12,5\"); " +
		"the others continue on success. A local alternative to databricks_validation.",
	Input: block.KindRecords, Output: block.KindRecords,
	Fields: []block.Field{
		{Key: "rules", Label: "Rules", Type: block.TypeText, Required: true,
			Description: "JSON or YAML mapping from column to rule: required (true/false), type (string, integer, decimal, boolean, date), regex, minLength, maxLength, " +
				"enum (list), format (Java date pattern, default yyyy-MM-dd for type date), unique (within the file), min and max (numeric range). " +
				`Example: {"bill_amount": {"required": true, "type": "decimal", "min": "0"}, "mobile": {"regex": "^[0-9]{10,12}$", "unique": true}}`,
			Example: `{"bill_amount": {"required": true, "type": "decimal"}}`},
		{Key: "uniqueMemoryEntries", Label: "Unique Values Kept in Memory", Type: block.TypeInt, Default: "1000000", Advanced: true, Min: block.Bound(1000),
			Description: "Values per unique column held in memory before older ones are spilled to sorted files in the work directory."},
	},
	Check: func(c *block.Config) []block.Problem {
		if _, err := ParseRules(c.String("rules")); err != nil {
			return []block.Problem{{Path: "rules", Message: err.Error()}}
		}
		return nil
	},
	New: newRecords,
}

// Register adds the validation blocks to r.
func Register(r *block.Registry) {
	r.MustRegister(RecordsSpec, ValidationSpec, JobsSpec)
}

type recordsBlock struct {
	name     string
	rules    []*Rule
	dir      string
	memLimit int

	mu    sync.Mutex
	files map[string]map[string]*spillSet // lineage -> column -> seen values
}

func newRecords(c *block.Config, env *block.Env) (block.Block, error) {
	rules, err := ParseRules(c.String("rules"))
	if err != nil {
		return nil, err
	}
	return &recordsBlock{name: env.Block, rules: rules, dir: env.WorkDir, memLimit: c.Int("uniqueMemoryEntries", 1_000_000), files: map[string]map[string]*spillSet{}}, nil
}

// field reads a column of record i: from the row's columns, or from the
// record's JSON object once a block has built one.
func field(b *block.Batch, i int, col string) (string, bool) {
	r := &b.Records[i]
	if r.Value == nil && b.Header != nil {
		j := b.Header.Index(col)
		if j < 0 {
			return "", false
		}
		if j < len(r.Cols) {
			return r.Cols[j], true
		}
		return "", true
	}
	if o, ok := r.Value.(*jsonv.Object); ok {
		if v, ok := o.Get(col); ok {
			return block.ScalarString(v), true
		}
	}
	return "", false
}

func (v *recordsBlock) sets(lineage string) map[string]*spillSet {
	v.mu.Lock()
	defer v.mu.Unlock()
	s := v.files[lineage]
	if s == nil {
		s = map[string]*spillSet{}
		v.files[lineage] = s
	}
	return s
}

func (v *recordsBlock) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	if u.Batch == nil {
		return errors.New("validate_records takes records; place it after convert_csv_to_json")
	}
	b := u.Batch
	lin := u.LineageID()
	seen := v.sets(lin)
	var good, bad []block.Record
	var fails []string
	for i := range b.Records {
		fails = fails[:0]
		for _, r := range v.rules {
			val, present := field(b, i, r.Column)
			fails = r.check(val, present, fails)
			if r.Unique && strings.TrimSpace(val) != "" {
				s := seen[r.Column]
				if s == nil {
					s = newSpillSet(v.dir, v.memLimit)
					seen[r.Column] = s
				}
				dup, err := s.add(val)
				if err != nil {
					return err
				}
				if dup {
					fails = append(fails, fmt.Sprintf("%s: must be unique within the file (rule unique=true), got %q again", r.Column, val))
				}
			}
		}
		rec := b.Records[i]
		if len(fails) == 0 {
			good = append(good, rec)
			continue
		}
		rec.Fail(v.name, FailureCode, strings.Join(fails, "; "))
		bad = append(bad, rec)
	}
	if len(bad) == 0 {
		return out.Emit(ctx, block.RelSuccess, u)
	}
	if len(good) > 0 {
		nu := u.Derive()
		nu.Batch = b.With(good)
		if err := out.Emit(ctx, block.RelSuccess, nu); err != nil {
			return err
		}
	}
	fu := u.Derive()
	fu.Batch = b.With(bad)
	return out.Emit(ctx, block.RelFailure, fu)
}

// EndLineage forgets the file's unique values.
func (v *recordsBlock) EndLineage(_ context.Context, lineageID string, _ bool) error {
	v.mu.Lock()
	s := v.files[lineageID]
	delete(v.files, lineageID)
	v.mu.Unlock()
	for _, set := range s {
		set.close()
	}
	return nil
}

// Close releases every file's state.
func (v *recordsBlock) Close() error {
	v.mu.Lock()
	all := v.files
	v.files = map[string]map[string]*spillSet{}
	v.mu.Unlock()
	for _, s := range all {
		for _, set := range s {
			set.close()
		}
	}
	return nil
}
