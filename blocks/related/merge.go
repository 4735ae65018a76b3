package related

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/connectplus/connectplus/block"
)

// Attributes set on merged units.
const (
	AttrMergeCount = "merge.count"
	AttrMergeAge   = "merge.bin.age"
)

// maxBins bounds the bins held at once; the oldest is merged early when a
// new correlation value would exceed it.
const maxBins = 1000

// MergeSpec is merge_content.
var MergeSpec = &block.Spec{
	Type: "merge_content", Label: "Merge Content", Class: block.ClassExecutor, Category: "Transformation",
	Description: "Bins entries by the value of an attribute and merges each bin into one file of lines. Each record (or file unit) contributes one line: the Replacement value rendered over its fields and attributes. " +
		"A bin is merged when it holds MaximumNumberEntries, or — checked whenever an entry arrives — when it is older than MaxBinAge and holds at least MinimumNumberEntries (or twice MaxBinAge whatever its size). " +
		"Bins are spilled to disk; records are acknowledged when they enter a bin. A bin still open when the dataflow stops is discarded (the engine has no timer hook for blocks yet).",
	Input: block.KindAny, Output: block.KindFile,
	Fields: []block.Field{
		{Key: "CorrelationAttributeName", Label: "Correlation Attribute Name", Type: block.TypeString, Required: true, Default: "kafka.topic",
			Description: "Entries with the same value of this attribute (or record field) share a bin."},
		{Key: "MinimumNumberEntries", Label: "Minimum Number of Entries", Type: block.TypeInt, Required: true, Default: "5", Min: block.Bound(1)},
		{Key: "MaximumNumberEntries", Label: "Maximum Number of Entries", Type: block.TypeInt, Required: true, Default: "1000", Min: block.Bound(1)},
		{Key: "MaxBinAge", Label: "Max Bin Age", Type: block.TypeString, Required: true, Default: "1 minutes", Example: "30 sec",
			Description: "NiFi time period: a number and a unit (millis, sec, min, hour, day; singular or plural)."},
		{Key: "Replacement value", Label: "Replacement value", Type: block.TypeText, Required: true, SupportsExpressions: true,
			Default:     ",${invokehttp.status.code},${invokehttp.status.message},${invokehttp.response.body},${invokehttp.tx.id}",
			Description: "The line each entry contributes (NiFi Expression Language over the record's fields and the unit's attributes)."},
	},
	Check: func(c *block.Config) []block.Problem {
		var probs []block.Problem
		if _, err := ParsePeriod(c.String("MaxBinAge")); err != nil {
			probs = append(probs, block.Problem{Path: "MaxBinAge", Message: err.Error()})
		}
		if c.Int("MinimumNumberEntries", 5) > c.Int("MaximumNumberEntries", 1000) {
			probs = append(probs, block.Problem{Path: "MinimumNumberEntries", Message: "must not exceed MaximumNumberEntries"})
		}
		return probs
	},
	New: newMerge,
}

var periodRE = regexp.MustCompile(`^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$`)

// ParsePeriod reads a NiFi time period ("1 minutes", "30 sec") or a Go
// duration ("90s").
func ParsePeriod(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(strings.TrimSpace(s)); err == nil && d > 0 {
		return d, nil
	}
	m := periodRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q is not a time period (e.g. 1 minutes, 30 sec)", s)
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	var unit time.Duration
	switch strings.ToLower(m[2]) {
	case "ns", "nanos", "nanosecond", "nanoseconds":
		unit = time.Nanosecond
	case "ms", "milli", "millis", "millisecond", "milliseconds":
		unit = time.Millisecond
	case "s", "sec", "secs", "second", "seconds":
		unit = time.Second
	case "m", "min", "mins", "minute", "minutes":
		unit = time.Minute
	case "h", "hr", "hrs", "hour", "hours":
		unit = time.Hour
	case "d", "day", "days":
		unit = 24 * time.Hour
	case "w", "wk", "wks", "week", "weeks":
		unit = 7 * 24 * time.Hour
	default:
		return 0, fmt.Errorf("unknown time unit %q in %q", m[2], s)
	}
	d := time.Duration(n * float64(unit))
	if d <= 0 {
		return 0, fmt.Errorf("time period %q must be positive", s)
	}
	return d, nil
}

type bin struct {
	key     string
	path    string
	count   int
	created time.Time
	// holds are the lineages whose entries are in this bin: they stay open
	// until the merged file is emitted, so nothing is acknowledged before
	// it is written and a stop mid-bin loses nothing.
	holds []*holdRef
}

// holdRef is one held unit and the number of bins still holding its entries.
type holdRef struct {
	h    block.Held
	u    *block.Unit
	refs int
}

type merger struct {
	name     string
	attr     string
	min, max int
	age      time.Duration
	line     *block.Template
	workDir  string
	now      func() time.Time

	mu     sync.Mutex
	bins   map[string]*bin
	spills block.Spills // lineage -> merged files handed out
	stop   chan struct{}
	done   chan struct{}
}

func newMerge(c *block.Config, env *block.Env) (block.Block, error) {
	age, err := ParsePeriod(c.String("MaxBinAge"))
	if err != nil {
		return nil, err
	}
	t, err := env.CompileTemplate(c.String("Replacement value"))
	if err != nil {
		return nil, fmt.Errorf("Replacement value: %w", err)
	}
	return &merger{
		name: env.Block, attr: c.String("CorrelationAttributeName"), min: c.Int("MinimumNumberEntries", 5), max: c.Int("MaximumNumberEntries", 1000),
		age: age, line: t, workDir: env.WorkDir, now: env.Clock, bins: map[string]*bin{}, spills: block.Spills{Dir: env.WorkDir},
	}, nil
}

func (m *merger) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	// Render every entry's line first, grouped by bin, so each bin's spill
	// file is appended once per unit.
	lines := map[string][]string{}
	var order []string
	add := func(key, line string) {
		if _, ok := lines[key]; !ok {
			order = append(order, key)
		}
		lines[key] = append(lines[key], line)
	}
	if u.Batch != nil {
		for i := range u.Batch.Records {
			l := block.RecordLookup{Unit: u, Batch: u.Batch, Index: i}
			key, _ := l.Get(m.attr)
			line, err := m.line.Eval(l)
			if err != nil {
				return fmt.Errorf("Replacement value, record %d: %w", i+1, err)
			}
			add(key, line)
		}
	} else {
		line, err := m.line.Eval(u.Attrs)
		if err != nil {
			return fmt.Errorf("Replacement value: %w", err)
		}
		add(u.Attrs[m.attr], line)
	}
	var ref *holdRef
	if holder, ok := out.(block.Holder); ok {
		ref = &holdRef{h: holder.Hold(u), u: u}
	} else if u.Batch != nil {
		// No engine support for holds (a bare Output): the records end here.
		out.Ack(u, nil)
	}
	var ready []*bin
	m.mu.Lock()
	now := m.now()
	for _, key := range order {
		b := m.bins[key]
		if b == nil {
			if len(m.bins) >= maxBins {
				ready = append(ready, m.takeOldestLocked())
			}
			f, err := os.CreateTemp(m.workDir, "bin-*.txt")
			if err != nil {
				m.mu.Unlock()
				return fmt.Errorf("merge_content: create bin: %w", err)
			}
			f.Close()
			b = &bin{key: key, path: f.Name(), created: now}
			m.bins[key] = b
		}
		pending := lines[key]
		for len(pending) > 0 {
			n := min(len(pending), m.max-b.count)
			if err := appendLines(b.path, pending[:n]); err != nil {
				m.mu.Unlock()
				m.unhold(ref)
				return err
			}
			pending = pending[n:]
			b.count += n
			if ref != nil {
				ref.refs++
				b.holds = append(b.holds, ref)
			}
			if b.count >= m.max {
				ready = append(ready, b)
				f, err := os.CreateTemp(m.workDir, "bin-*.txt")
				if err != nil {
					delete(m.bins, key)
					m.mu.Unlock()
					return fmt.Errorf("merge_content: create bin: %w", err)
				}
				f.Close()
				b = &bin{key: key, path: f.Name(), created: now}
				m.bins[key] = b
			}
		}
		if b.count == 0 {
			os.Remove(b.path)
			delete(m.bins, key)
		}
	}
	ready = append(ready, m.agedLocked(now)...)
	noBin := ref != nil && ref.refs == 0
	m.mu.Unlock()
	if noBin {
		// Nothing of this unit went into a bin (no entries).
		if u.Batch != nil {
			ref.h.Ack(u)
		}
		ref.h.Release()
	}
	sort.SliceStable(ready, func(i, j int) bool { return ready[i].created.Before(ready[j].created) })
	for _, b := range ready {
		if err := m.emit(ctx, u, b, out); err != nil {
			return err
		}
	}
	return nil
}

// agedLocked takes the bins due by age: at least MaxBinAge old with the
// minimum number of entries, or twice MaxBinAge old whatever their size.
func (m *merger) agedLocked(now time.Time) []*bin {
	var ready []*bin
	for key, b := range m.bins {
		old := now.Sub(b.created)
		if (old >= m.age && b.count >= m.min) || old >= 2*m.age {
			ready = append(ready, b)
			delete(m.bins, key)
		}
	}
	return ready
}

// Start flushes aged bins on a timer, so a bin that stops receiving entries
// is still written out after MaxBinAge (through the lineages it holds).
func (m *merger) Start(ctx context.Context) error {
	m.stop, m.done = make(chan struct{}), make(chan struct{})
	tick := min(max(m.age/4, 10*time.Millisecond), time.Second)
	go func() {
		defer close(m.done)
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-m.stop:
				return
			case <-t.C:
				m.mu.Lock()
				ready := m.agedLocked(m.now())
				m.mu.Unlock()
				sort.SliceStable(ready, func(i, j int) bool { return ready[i].created.Before(ready[j].created) })
				for _, b := range ready {
					if len(b.holds) == 0 {
						// Entries from a bare Output were acknowledged on
						// entry; with nothing held there is no lineage to
						// emit in, so the bin waits for the next unit.
						m.mu.Lock()
						m.bins[b.key] = b
						m.mu.Unlock()
						continue
					}
					if err := m.emit(ctx, nil, b, nil); err != nil && ctx.Err() == nil {
						continue
					}
				}
			}
		}
	}()
	return nil
}

// unhold drops a unit's hold after a failure to bin it.
func (m *merger) unhold(ref *holdRef) {
	if ref != nil && ref.refs == 0 {
		ref.h.Release()
	}
}

// settle ends the holds of a bin's contributors once their last bin is out:
// their records are delivered (into the merged file) and their lineages may
// complete.
func (m *merger) settle(b *bin) {
	for _, r := range b.holds {
		m.mu.Lock()
		r.refs--
		last := r.refs == 0
		m.mu.Unlock()
		if last {
			if r.u.Batch != nil {
				r.h.Ack(r.u)
			}
			r.h.Release()
		}
	}
}

func (m *merger) takeOldestLocked() *bin {
	var oldest *bin
	for _, b := range m.bins {
		if oldest == nil || b.created.Before(oldest.created) {
			oldest = b
		}
	}
	delete(m.bins, oldest.key)
	return oldest
}

func appendLines(p string, lines []string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("merge_content: bin: %w", err)
	}
	var sb strings.Builder
	for _, l := range lines {
		sb.WriteString(l)
		sb.WriteByte('\n')
	}
	_, err = f.WriteString(sb.String())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("merge_content: bin: %w", err)
	}
	return nil
}

// emit hands a full bin on as one merged file: in the lineage of the bin's
// last contributor when lineages are held (and then settles the holds),
// else through out in u's lineage.
func (m *merger) emit(ctx context.Context, u *block.Unit, b *bin, out block.Output) error {
	name := fmt.Sprintf("merged_%s_%s.txt", safeToken(b.key), m.now().UTC().Format("20060102150405.000"))
	f, err := block.LocalFile(name, b.path)
	if err != nil {
		return fmt.Errorf("merge_content: %w", err)
	}
	var via *holdRef
	if n := len(b.holds); n > 0 {
		via = b.holds[n-1]
		u = via.u
	}
	lin := u.LineageID()
	m.spills.Add(lin, b.path)
	nu := &block.Unit{Attrs: block.Attributes{
		block.AttrFilename: name, m.attr: b.key, AttrMergeCount: strconv.Itoa(b.count),
		AttrMergeAge: m.now().Sub(b.created).String(), block.AttrLineageID: lin, block.AttrMimeType: "text/plain",
	}, File: f}
	if via != nil {
		err = via.h.Emit(ctx, block.RelSuccess, nu)
		m.settle(b)
		return err
	}
	return out.Emit(ctx, block.RelSuccess, nu)
}

func safeToken(s string) string {
	if s == "" {
		return "_"
	}
	var b strings.Builder
	for _, r := range s {
		if r == '/' || r == '\\' || r < 0x20 || r == ':' {
			r = '_'
		}
		b.WriteRune(r)
		if b.Len() > 64 {
			break
		}
	}
	return b.String()
}

// EndLineage removes the merged files emitted in the lineage.
func (m *merger) EndLineage(_ context.Context, lineageID string, _ bool) error {
	m.spills.Release(lineageID)
	return nil
}

// Close stops the timer and discards open bins and merged files. Lineages
// still held are released by the engine with their checkpoints: their
// records were never acknowledged, so they are merged again on resume.
func (m *merger) Close() error {
	if m.stop != nil {
		close(m.stop)
		<-m.done
		m.stop = nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range m.bins {
		os.Remove(b.path)
	}
	m.spills.ReleaseAll()
	m.bins = map[string]*bin{}
	return nil
}
