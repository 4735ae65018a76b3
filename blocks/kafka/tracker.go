package kafka

import (
	"github.com/twmb/franz-go/pkg/kgo"
)

// tracker knows, for every record handed to the engine and not yet
// committed, its partition and offset and whether it has ended. A
// partition's commit position only moves past a contiguous run of ended
// records, so a slow record holds back the commit of those after it (they
// are the ones read again after a crash) and no record is ever committed
// before it ended. Windows number their records independently; a
// partition's records may span several windows. Not safe for concurrent
// use: the reader guards it.
type tracker struct {
	parts map[tp]*partState
}

type tp struct {
	topic     string
	partition int32
}

type entry struct {
	part   *partState
	offset int64
	epoch  int32
	done   bool
}

// partState is one partition's records in offset order (the order Kafka
// delivers them in).
type partState struct {
	tp        tp
	q         []*entry
	head      int
	next      kgo.EpochOffset // commit position: after the last ended record of the prefix
	committed int64           // last position committed (-1: none by this process)
	dropped   bool            // revoked or lost: never committed by this member again
}

// windowTrack is one window's records by number (seq base, base+1, ...).
type windowTrack struct {
	base    int64
	q       []*entry
	head    int
	pending int // records not yet ended
}

func newTracker() *tracker { return &tracker{parts: map[tp]*partState{}} }

// add registers the record numbered seq of w.
func (t *tracker) add(w *windowTrack, seq int64, topic string, partition int32, offset int64, epoch int32) {
	k := tp{topic, partition}
	p := t.parts[k]
	if p == nil {
		p = &partState{tp: k, committed: -1, next: kgo.EpochOffset{Epoch: -1, Offset: -1}}
		t.parts[k] = p
	}
	e := &entry{part: p, offset: offset, epoch: epoch}
	p.q = append(p.q, e)
	if len(w.q) == w.head && w.head > 0 {
		w.q, w.head = w.q[:0], 0
	}
	if len(w.q)-w.head == 0 {
		w.base = seq
	}
	w.q = append(w.q, e)
	w.pending++
}

// ended marks w's records numbered upTo or less ended.
func (t *tracker) ended(w *windowTrack, upTo int64) {
	for w.head < len(w.q) && w.base <= upTo {
		e := w.q[w.head]
		w.q[w.head] = nil
		w.head++
		w.base++
		w.pending--
		t.finish(e)
	}
	if w.head > 1024 && w.head > len(w.q)/2 {
		w.q = append(w.q[:0], w.q[w.head:]...)
		w.head = 0
	}
}

// endAll marks every record of w ended (its lineage completed).
func (t *tracker) endAll(w *windowTrack) {
	t.ended(w, w.base+int64(len(w.q)-w.head))
}

func (t *tracker) finish(e *entry) {
	e.done = true
	p := e.part
	if p.dropped {
		return
	}
	for p.head < len(p.q) && p.q[p.head].done {
		x := p.q[p.head]
		p.next = kgo.EpochOffset{Epoch: x.epoch, Offset: x.offset + 1}
		p.q[p.head] = nil
		p.head++
	}
	if p.head == len(p.q) {
		p.q, p.head = p.q[:0], 0
	} else if p.head > 1024 && p.head > len(p.q)/2 {
		p.q = append(p.q[:0], p.q[p.head:]...)
		p.head = 0
	}
}

// pending returns the commit positions that moved since the last commit,
// limited to only when set.
func (t *tracker) pending(only map[string][]int32) map[string]map[int32]kgo.EpochOffset {
	var out map[string]map[int32]kgo.EpochOffset
	for k, p := range t.parts {
		if p.dropped || p.next.Offset < 0 || p.next.Offset <= p.committed {
			continue
		}
		if only != nil && !contains(only[k.topic], k.partition) {
			continue
		}
		if out == nil {
			out = map[string]map[int32]kgo.EpochOffset{}
		}
		if out[k.topic] == nil {
			out[k.topic] = map[int32]kgo.EpochOffset{}
		}
		out[k.topic][k.partition] = p.next
	}
	return out
}

// committed records that the positions in m are stored in the group.
func (t *tracker) committed(m map[string]map[int32]kgo.EpochOffset) {
	for topic, ps := range m {
		for part, eo := range ps {
			if p := t.parts[tp{topic, part}]; p != nil && eo.Offset > p.committed {
				p.committed = eo.Offset
			}
		}
	}
}

// inflight counts the records of the given partitions not yet ended.
func (t *tracker) inflight(only map[string][]int32) int {
	n := 0
	for k, p := range t.parts {
		if only != nil && !contains(only[k.topic], k.partition) {
			continue
		}
		n += p.notEnded()
	}
	return n
}

func (p *partState) notEnded() int {
	n := 0
	for _, e := range p.q[p.head:] {
		if !e.done {
			n++
		}
	}
	return n
}

// drop forgets partitions this member no longer owns: records of them
// still travelling finish, but their positions are never committed (the
// new owner reads them again).
func (t *tracker) drop(only map[string][]int32) int {
	abandoned := 0
	for k, p := range t.parts {
		if only != nil && !contains(only[k.topic], k.partition) {
			continue
		}
		abandoned += p.notEnded()
		p.dropped = true
		p.q = nil
		delete(t.parts, k)
	}
	return abandoned
}

func contains(ps []int32, p int32) bool {
	for _, x := range ps {
		if x == p {
			return true
		}
	}
	return false
}
