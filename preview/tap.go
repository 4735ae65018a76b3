package preview

import (
	"context"
	"encoding/json"
	"io"
	"sync"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/dataflow"
)

// tap collects per-block views of the units the engine reports. Units are
// copied when seen: the engine reuses them after the call.
type tap struct {
	max int
	mu  sync.Mutex
	// byType records how each block type is replaced.
	byType map[string]string
	blocks map[string]*BlockView
}

func newTap(max int) *tap {
	return &tap{max: max, byType: map[string]string{}, blocks: map[string]*BlockView{}}
}

func (t *tap) replaced(typ, how string) { t.byType[typ] = how }

func (t *tap) view(name string) *BlockView {
	v := t.blocks[name]
	if v == nil {
		v = &BlockView{Name: name, In: []Unit{}, Out: map[string][]Unit{}, Failed: []Failure{}}
		t.blocks[name] = v
	}
	return v
}

// shown counts the records already kept in units.
func shown(us []Unit) int {
	n := 0
	for _, u := range us {
		n += len(u.Records)
		if u.Kind == "file" {
			n++
		}
	}
	return n
}

func (t *tap) UnitIn(name string, u *block.Unit) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v := t.view(name)
	if u.Batch != nil {
		v.RecordsIn += len(u.Batch.Records)
	}
	if room := t.max - shown(v.In); room > 0 {
		v.In = append(v.In, t.snapshot(u, room))
	}
}

func (t *tap) UnitOut(name, rel string, u *block.Unit) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v := t.view(name)
	if u.Batch != nil {
		k := len(u.Batch.Records)
		switch rel {
		case block.RelFailure:
			for i := range u.Batch.Records {
				if len(v.Failed) >= t.max {
					break
				}
				r := &u.Batch.Records[i]
				v.Failed = append(v.Failed, Failure{Line: r.Line, Record: recordJSON(u.Batch, i), Reason: r.Outcome.Message, Code: r.Outcome.Code})
			}
		case block.RelFiltered:
			v.Filtered += k
		default:
			v.RecordsOut += k
		}
	} else if rel == block.RelFailure && u.Attrs[block.ErrorAttr] != "" && len(v.Failed) < t.max {
		v.Failed = append(v.Failed, Failure{Reason: u.Attrs[block.ErrorAttr]})
	}
	if room := t.max - shown(v.Out[rel]); room > 0 {
		v.Out[rel] = append(v.Out[rel], t.snapshot(u, room))
	}
}

func (t *tap) UnitFailed(name string, u *block.Unit, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v := t.view(name)
	if u.Batch == nil {
		// A file-level failure: the records (if any) are reported through
		// the failure relation; the file's reason is the block's error.
		v.Error = err.Error()
	}
}

// snapshot copies up to room records of u (or the start of its file).
func (t *tap) snapshot(u *block.Unit, room int) Unit {
	if u.Batch != nil {
		b := u.Batch
		n := min(len(b.Records), room)
		out := Unit{Kind: "records", Records: make([]json.RawMessage, 0, n), Lines: make([]int64, 0, n)}
		for i := 0; i < n; i++ {
			out.Records = append(out.Records, recordJSON(b, i))
			out.Lines = append(out.Lines, b.Records[i].Line)
		}
		return out
	}
	out := Unit{Kind: "file"}
	if u.File == nil {
		return out
	}
	out.Name, out.Size = u.File.Name, u.File.Size
	rc, err := u.File.Open(context.Background())
	if err != nil {
		out.Text = "(cannot open: " + err.Error() + ")"
		return out
	}
	defer rc.Close()
	buf, _ := io.ReadAll(io.LimitReader(rc, maxText+1))
	out.Text, out.Binary, _ = clip(buf)
	return out
}

func recordJSON(b *block.Batch, i int) json.RawMessage {
	raw := b.AppendRecordJSON(nil, i)
	if !json.Valid(raw) {
		q, _ := json.Marshal(string(raw))
		return q
	}
	return raw
}

// views returns one view per document block, in document order.
func (t *tap) views(doc *dataflow.Document, reg *block.Registry, sandboxes map[string]*sandboxRun) []BlockView {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]BlockView, 0, len(doc.Blocks))
	for _, b := range doc.Blocks {
		v := *t.view(b.Name)
		v.Type = b.Type
		if s, ok := reg.Lookup(b.Type); ok {
			v.Type = s.Type
			v.Replaced = t.byType[s.Type]
		}
		if sb := sandboxes[b.Name]; sb != nil {
			sb.mu.Lock()
			v.Requests = append([]HTTPReq(nil), sb.reqs...)
			sb.mu.Unlock()
		}
		out = append(out, v)
	}
	return out
}
