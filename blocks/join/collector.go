package join

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/connectplus/connectplus/block"
)

// Companion waiting.
//
// The engine hands a block one unit per source file and completes a file's
// lineage as soon as Process returns with nothing outstanding. A Process
// call must stay short (a block's units are processed one at a time, so a
// call blocked on a companion would stop the companion from ever arriving),
// and Output is only valid during the call. So a join block:
//
//   - copies every arriving file into <WorkDir>/pending (data + a JSON
//     manifest of its name, attributes, set key and arrival time) and
//     returns: that file's lineage completes with nothing emitted — its
//     records are never born here, and the source moves it to its
//     processed location;
//   - when the last file of a set arrives, runs the join in that file's
//     Process call and emits the joined file in that file's lineage;
//   - expires files that waited longer than the companion timeout from a
//     goroutine started by Start (block.Starter) and stopped by Close. An
//     expired file can no longer fail its own lineage (it completed), so it
//     is logged at error level and queued; the next Process call emits it on
//     the failure relation (its copied content, its original attributes,
//     error.message "missing companion <regex> after <timeout>") in the
//     lineage of the unit being processed.
//
// The manifests make waiting files survive a restart when the engine's
// work directory is persistent: they are reloaded when the block is built.
//
// What the engine would need to do this properly (reported to the lead): a
// way to keep a lineage open after Process returns, e.g.
//
//	// Hold keeps u's lineage open after Process returns; the engine counts
//	// it as outstanding and does not count it against MaxLineages.
//	Output.Hold(u *block.Unit) block.Held
//	type Held interface {
//	    Emit(ctx context.Context, rel string, u *block.Unit) error // any goroutine
//	    Fail(err error)  // fail the held lineage as a whole (file to error dir)
//	    Release()        // complete it with nothing further
//	}
//
// With it, an earlier file would stay in flight until its set joins (its
// lineage then completes without output) or times out (Fail moves it to the
// error location), and the join output could carry every file's lineage.

// slotMatcher recognises one file of a set.
type slotMatcher struct {
	label string         // the configured regex, for messages
	re    *regexp.Regexp // whole-name match: the file is of this kind
	key   *regexp.Regexp // optional: group 1 of a match is the set key
}

// pendingFile is a file waiting for its companions.
type pendingFile struct {
	ID      string            `json:"id"`
	Seq     int64             `json:"seq"`
	Slot    int               `json:"slot"`
	Key     string            `json:"key"`
	Name    string            `json:"name"`
	Lineage string            `json:"lineage"`
	Attrs   map[string]string `json:"attrs"`
	Arrived time.Time         `json:"arrived"`
	Reason  string            `json:"-"` // why it expired
	dir     string
}

func (p *pendingFile) dataPath() string { return filepath.Join(p.dir, p.ID+".data") }
func (p *pendingFile) metaPath() string { return filepath.Join(p.dir, p.ID+".json") }

func (p *pendingFile) remove() {
	os.Remove(p.metaPath())
	os.Remove(p.dataPath())
}

type collector struct {
	dir           string
	slots         []slotMatcher
	timeout       time.Duration
	alphabetical  bool
	unique        bool
	dropUnmatched bool
	now           func() time.Time
	log           *slog.Logger
	// onExpire, when set, takes over an expired file (its lineage is still
	// held open and can fail itself); false leaves it for takeExpired.
	onExpire func(p *pendingFile) bool

	mu      sync.Mutex
	sets    map[string][][]*pendingFile // set key -> slot -> waiting files
	expired []*pendingFile
	seq     int64
	stop    chan struct{}
	done    chan struct{}
}

func newCollector(workDir string, slots []slotMatcher, timeout time.Duration, now func() time.Time, log *slog.Logger) (*collector, error) {
	c := &collector{dir: filepath.Join(workDir, "pending"), slots: slots, timeout: timeout, now: now, log: log, sets: map[string][][]*pendingFile{}}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return nil, fmt.Errorf("join work directory: %w", err)
	}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

// load reloads the files that were waiting when the process stopped.
func (c *collector) load() error {
	metas, err := filepath.Glob(filepath.Join(c.dir, "*.json"))
	if err != nil {
		return err
	}
	var ps []*pendingFile
	for _, m := range metas {
		b, err := os.ReadFile(m)
		if err != nil {
			return fmt.Errorf("reload waiting file: %w", err)
		}
		p := &pendingFile{}
		if err := json.Unmarshal(b, p); err != nil || p.ID == "" || p.Slot < 0 || p.Slot >= len(c.slots) {
			// A manifest from another configuration, or torn: not ours to join.
			c.log.Warn("join: ignoring unreadable waiting-file manifest", "path", m)
			continue
		}
		p.dir = c.dir
		if _, err := os.Stat(p.dataPath()); err != nil {
			c.log.Warn("join: waiting file lost its data; dropped", "file", p.Name, "err", err)
			os.Remove(m)
			continue
		}
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Seq < ps[j].Seq })
	for _, p := range ps {
		c.queue(p)
		c.seq = max(c.seq, p.Seq)
	}
	return nil
}

func (c *collector) queue(p *pendingFile) {
	q := c.sets[p.Key]
	if q == nil {
		q = make([][]*pendingFile, len(c.slots))
		c.sets[p.Key] = q
	}
	q[p.Slot] = append(q[p.Slot], p)
}

// classify finds the slot and set key of a file name.
func (c *collector) classify(name string) (slot int, key string, err error) {
	for i, s := range c.slots {
		if !s.re.MatchString(name) {
			continue
		}
		if s.key == nil {
			return i, "", nil
		}
		m := s.key.FindStringSubmatch(name)
		if len(m) < 2 {
			return -1, "", fmt.Errorf("file %q matches file %d's regex %q but not its common-name template %q", name, i+1, s.label, s.key.String())
		}
		return i, m[1], nil
	}
	labels := make([]string, len(c.slots))
	for i, s := range c.slots {
		labels[i] = s.label
	}
	return -1, "", errUnmatched{name: name, regexes: labels}
}

type errUnmatched struct {
	name    string
	regexes []string
}

func (e errUnmatched) Error() string {
	return fmt.Sprintf("file %q matches none of the file regexes %s", e.name, strings.Join(e.regexes, ", "))
}

type addResult struct {
	set     []*pendingFile // a complete set in slot order; nil while waiting
	dropped string         // why the file was dropped, when it was
	waiting []string       // regexes still missing for the file's set
}

// add spools u and returns the set it completes, if any.
func (c *collector) add(ctx context.Context, u *block.Unit) (addResult, error) {
	name := u.Attrs[block.AttrFilename]
	if name == "" {
		name = u.File.Name
	}
	slot, key, err := c.classify(name)
	if err != nil {
		var um errUnmatched
		if errors.As(err, &um) && c.dropUnmatched {
			return addResult{dropped: err.Error() + " (dropped: Match All Regex is on)"}, nil
		}
		return addResult{}, err
	}
	if c.unique {
		c.mu.Lock()
		dup := false
		if q := c.sets[key]; q != nil && len(q[slot]) > 0 {
			dup = true
		}
		c.mu.Unlock()
		if dup {
			return addResult{dropped: fmt.Sprintf("file %q duplicates a waiting file of regex %q (dropped: All Unique Match is on)", name, c.slots[slot].label)}, nil
		}
	}
	p := &pendingFile{ID: newID(), Slot: slot, Key: key, Name: name, Attrs: u.Attrs.Clone(), Arrived: c.now(), dir: c.dir}
	if u.Lineage != nil {
		p.Lineage = u.Lineage.ID()
	}
	if err := c.spool(ctx, u, p); err != nil {
		return addResult{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.Lineage != "" {
		// A lineage resumed after a restart delivers its file again: it
		// replaces the copy reloaded from the spool.
		c.dropLineageLocked(p.Lineage)
	}
	c.seq++
	p.Seq = c.seq
	if err := writeManifest(p); err != nil {
		p.remove()
		return addResult{}, err
	}
	c.queue(p)
	q := c.sets[key]
	var missing []string
	for i := range q {
		if len(q[i]) == 0 {
			missing = append(missing, c.slots[i].label)
		}
	}
	if len(missing) > 0 {
		return addResult{waiting: missing}, nil
	}
	set := make([]*pendingFile, len(q))
	for i := range q {
		j := 0
		if c.alphabetical {
			for k := range q[i] {
				if q[i][k].Name < q[i][j].Name {
					j = k
				}
			}
		}
		set[i] = q[i][j]
		q[i] = append(q[i][:j:j], q[i][j+1:]...)
	}
	c.dropEmpty(key)
	return addResult{set: set}, nil
}

func (c *collector) dropEmpty(key string) {
	for _, s := range c.sets[key] {
		if len(s) > 0 {
			return
		}
	}
	delete(c.sets, key)
}

func (c *collector) spool(ctx context.Context, u *block.Unit, p *pendingFile) error {
	in, err := u.File.Open(ctx)
	if err != nil {
		return fmt.Errorf("open %s: %w", p.Name, err)
	}
	defer in.Close()
	f, err := os.OpenFile(p.dataPath(), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("spool %s: %w", p.Name, err)
	}
	_, err = io.Copy(f, ctxReader{ctx, in})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p.dataPath())
		return fmt.Errorf("spool %s: %w", p.Name, err)
	}
	return nil
}

func writeManifest(p *pendingFile) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	tmp := p.metaPath() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("spool manifest: %w", err)
	}
	if err := os.Rename(tmp, p.metaPath()); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("spool manifest: %w", err)
	}
	return nil
}

// expire moves files that waited longer than the timeout to the expired
// list and returns how many it moved.
func (c *collector) expire(now time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for key, q := range c.sets {
		var missing []string
		for i := range q {
			if len(q[i]) == 0 {
				missing = append(missing, fmt.Sprintf("%q", c.slots[i].label))
			}
		}
		for i := range q {
			keep := q[i][:0]
			for _, p := range q[i] {
				if now.Sub(p.Arrived) < c.timeout {
					keep = append(keep, p)
					continue
				}
				set := ""
				if key != "" {
					set = fmt.Sprintf(" (common name %q)", key)
				}
				p.Reason = fmt.Sprintf("missing companion %s after %s for %s%s", strings.Join(missing, ", "), c.timeout, p.Name, set)
				os.Remove(p.metaPath()) // no longer waiting: not reloaded after a restart
				if c.onExpire != nil && c.onExpire(p) {
					p.remove()
				} else {
					c.expired = append(c.expired, p)
				}
				c.log.Error("join: companion files did not arrive", "file", p.Name, "lineage", p.Lineage, "reason", p.Reason)
				n++
			}
			q[i] = keep
		}
		c.dropEmpty(key)
	}
	return n
}

// takeExpired returns the files expired since the last call.
func (c *collector) takeExpired() []*pendingFile {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.expired
	c.expired = nil
	return e
}

// waitingCount reports how many files are waiting.
func (c *collector) waitingCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, q := range c.sets {
		for _, s := range q {
			n += len(s)
		}
	}
	return n
}

// start runs the expiry loop until close.
func (c *collector) start(ctx context.Context) {
	c.mu.Lock()
	if c.stop != nil {
		c.mu.Unlock()
		return
	}
	c.stop, c.done = make(chan struct{}), make(chan struct{})
	stop, done := c.stop, c.done
	c.mu.Unlock()
	tick := min(max(c.timeout/10, 10*time.Millisecond), 5*time.Second)
	go func() {
		defer close(done)
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				c.expire(c.now())
			}
		}
	}()
}

// close stops the expiry loop. Waiting files stay on disk for the next run;
// expired ones not yet reported are deleted (they were logged).
func (c *collector) close() {
	c.mu.Lock()
	stop, done := c.stop, c.done
	c.stop = nil
	exp := c.expired
	c.expired = nil
	c.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
	for _, p := range exp {
		p.remove()
	}
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ctxReader stops a copy when the run is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// dropLineageLocked forgets a waiting file of lineage id. Caller holds c.mu.
func (c *collector) dropLineageLocked(id string) {
	for key, q := range c.sets {
		for i := range q {
			keep := q[i][:0]
			for _, p := range q[i] {
				if p.Lineage == id {
					p.remove()
					continue
				}
				keep = append(keep, p)
			}
			q[i] = keep
		}
		c.dropEmpty(key)
	}
}
