package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/jsonv"
)

// Attributes every record read from Kafka carries (NiFi ConsumeKafka's).
const (
	AttrTopic     = "kafka.topic"
	AttrPartition = "kafka.partition"
	AttrOffset    = "kafka.offset"
	AttrKey       = "kafka.key"
	AttrTimestamp = "kafka.timestamp" // milliseconds since the epoch
	// AttrGroup and AttrGeneration are unit attributes: the consumer group
	// and its generation when the unit's records were polled.
	AttrGroup      = "kafka.group"
	AttrGeneration = "kafka.generation"
	// HeaderTraceable is the header "Headers as Attribute: Traceable Id" keeps.
	HeaderTraceable = "traceable_id"
)

// Header modes of the Header field.
const (
	HeadersAll       = "All"
	HeadersTraceable = "Traceable Id"
)

// Message formats.
const (
	FormatJSON = "json"
	FormatText = "text"
)

// readConfig is a source block's validated settings.
type readConfig struct {
	topics        []string
	group         string
	headers       string
	traceID       *block.Template
	window        time.Duration
	windowRecords int
	batch         int
	format        string
	maxBytes      int
	deadLetter    string
	startAt       string
	revokeWait    time.Duration
	resultDir     string
	fetchMaxBytes int32
	session       time.Duration
}

// reader is a consumer-group member feeding windows of its topics to the
// engine (block.Stream). It commits a partition's offset only past records
// that ended, after the engine stored a checkpoint counting them.
type reader struct {
	typ  string
	cfg  readConfig
	conn *Conn
	env  *block.Env
	hdr  *block.Header
	cl   *kgo.Client
	// dlq produces to the dead-letter topic, creating it when the broker
	// allows (it is the block's own topic, not one it was given).
	dlq *kgo.Client

	mu       sync.Mutex
	tr       *tracker
	windows  map[string]*window // open or finishing, by item key
	cur      *window            // the window Next feeds
	nWindows int
	leftover []block.Item // windows a previous process left unfinished
	paused   bool

	// commitMu serialises commits with revocations: once a partition is
	// revoked no commit of it can start.
	commitMu sync.Mutex
	closing  atomic.Bool
	wake     chan struct{}
	stop     chan struct{}
	stopped  chan struct{}
}

type window struct {
	item     block.Item
	track    windowTrack
	opened   time.Time
	records  int
	closed   bool
	leftover bool // a previous process's window: closes at once
}

func newReader(typ string, cfg readConfig, conn *Conn, env *block.Env) *reader {
	return &reader{
		typ: typ, cfg: cfg, conn: conn, env: env,
		hdr:     block.NewHeader([]string{AttrTopic, AttrPartition, AttrOffset, AttrKey, block.AttrRequestID}),
		tr:      newTracker(),
		windows: map[string]*window{},
		wake:    make(chan struct{}, 1),
	}
}

// Start joins the consumer group (and checks the connection: a wrong
// password or unreachable broker fails the deployment with the reason).
func (r *reader) Start(ctx context.Context) error {
	opts := append(r.conn.Opts(r.env, "connectplus-"+r.typ),
		kgo.ConsumeTopics(r.cfg.topics...),
		kgo.ConsumerGroup(r.cfg.group),
		kgo.DisableAutoCommit(),
		// Rebalances wait until records polled are registered as in flight,
		// so a revocation knows exactly what it must let finish.
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsRevoked(r.onRevoked),
		kgo.OnPartitionsLost(r.onLost),
		kgo.SessionTimeout(r.cfg.session),
		// A member killed while the group rebalances is waited for until
		// this timeout (it never rejoins), and the whole group with it:
		// franz-go's 60 s default stalled every partition for a minute when
		// a node died right after another joined. Members need the
		// revocation wait and a commit (10 s at most) to rejoin.
		kgo.RebalanceTimeout(r.cfg.revokeWait+15*time.Second),
		kgo.HeartbeatInterval(min(3*time.Second, r.cfg.session/3)),
		kgo.FetchMaxBytes(r.cfg.fetchMaxBytes),
		kgo.FetchMaxPartitionBytes(min(r.cfg.fetchMaxBytes, 1<<20)),
		kgo.FetchMaxWait(500*time.Millisecond),
		// One buffered fetch at a time: while the engine is not asking for
		// records (back-pressure) nothing more is fetched.
		kgo.MaxConcurrentFetches(1),
	)
	if r.cfg.startAt == "latest" {
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
	} else {
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	}
	if option(r.env, OptSandboxBroker) != "" {
		opts = append(opts, kgo.AllowAutoTopicCreation())
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("Kafka client: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := cl.Ping(pctx); err != nil {
		cl.Close()
		return fmt.Errorf("Kafka connection %q (%s): %w", r.conn.Name, strings.Join(r.conn.Brokers, ","), err)
	}
	if r.cfg.deadLetter != "" {
		dlq, err := kgo.NewClient(append(r.conn.Opts(r.env, "connectplus-"+r.typ+"-dlq"),
			kgo.AllowAutoTopicCreation(), kgo.RecordDeliveryTimeout(10*time.Second))...)
		if err != nil {
			cl.Close()
			return fmt.Errorf("Kafka dead-letter client: %w", err)
		}
		r.dlq = dlq
	}
	r.cl = cl
	r.leftover = r.loadWindows()
	r.stop, r.stopped = make(chan struct{}), make(chan struct{})
	go r.committer()
	return nil
}

// Close commits what ended and leaves the group (Stop). The client is
// closed, not dropped: a Next still polling (the engine's polling
// goroutine outlives Close by a moment) gets ErrClientClosed.
func (r *reader) Close() error {
	if r.cl == nil || !r.closing.CompareAndSwap(false, true) {
		return nil
	}
	close(r.stop)
	<-r.stopped
	r.cl.Close() // leaves the group; onRevoked commits nothing more
	if r.dlq != nil {
		r.dlq.Close()
	}
	return nil
}

// List opens the next window once a record is available: a stream with no
// traffic makes no empty runs. Windows a killed process left unfinished
// come first, so their runs complete with what they had counted.
func (r *reader) List(ctx context.Context) ([]block.Item, error) {
	r.mu.Lock()
	if r.cur != nil {
		// The engine stopped feeding it (the flow drained): it finishes
		// with what it has. One that never got a record may never have
		// started (drained while waiting for a lineage slot): forget it;
		// a Finish for it, if it did start, finds nothing to commit.
		r.cur.closed = true
		if r.cur.records == 0 {
			delete(r.windows, r.cur.item.Key)
		}
		r.cur = nil
	}
	for len(r.leftover) > 0 {
		it := r.leftover[0]
		r.leftover = r.leftover[1:]
		if _, listed := r.windows[it.Key]; listed {
			continue // listed before and not claimed: give it up
		}
		w := &window{item: it, leftover: true, closed: true}
		r.windows[it.Key] = w
		r.mu.Unlock()
		return []block.Item{it}, nil
	}
	paused := r.paused
	r.mu.Unlock()
	if paused {
		return nil, nil
	}
	// Wait (briefly: Poll's caller retries) for the client to hold
	// fetched records, without taking them: records are only taken by
	// Next, which registers them as in flight in the same breath.
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	deadline := time.Now().Add(time.Second)
	for r.cl.BufferedFetchRecords() == 0 {
		if time.Now().After(deadline) {
			return nil, nil
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-t.C:
		}
	}
	now := r.env.Clock()
	r.mu.Lock()
	if r.paused {
		r.mu.Unlock()
		return nil, nil
	}
	r.nWindows++
	name := windowName(r.cfg.topics, now, r.nWindows)
	it := block.Item{Key: "kafka://" + r.cfg.group + "/" + name, Name: name, ModTime: now}
	w := &window{item: it, opened: now}
	r.windows[it.Key] = w
	r.cur = w
	r.mu.Unlock()
	r.saveWindows()
	return []block.Item{it}, nil
}

// windowName names a window's lineage (its result file is
// result_<timestamp>_<name>): the topics and when it opened.
func windowName(topics []string, at time.Time, n int) string {
	t := strings.Join(topics, "+")
	t = strings.Map(func(c rune) rune {
		if c == '/' || c == '\\' || c == ' ' {
			return '_'
		}
		return c
	}, t)
	if len(t) > 80 {
		t = t[:80]
	}
	return fmt.Sprintf("%s_%s_%d", t, at.UTC().Format("20060102T150405.000Z"), n)
}

func (r *reader) Open(context.Context, block.Item) (*block.Unit, error) {
	return nil, errors.New("a Kafka stream is read window by window (block.Stream), not opened")
}

// Next hands the window's next records to the engine, numbered from seq.
func (r *reader) Next(ctx context.Context, it block.Item, seq int64) (*block.Unit, error) {
	r.mu.Lock()
	w := r.windows[it.Key]
	if w == nil || w.closed {
		r.mu.Unlock()
		return nil, io.EOF
	}
	now := r.env.Clock()
	left := w.opened.Add(r.cfg.window).Sub(now)
	if left <= 0 || (r.cfg.windowRecords > 0 && w.records >= r.cfg.windowRecords) {
		w.closed = true
		if r.cur == w {
			r.cur = nil
		}
		r.mu.Unlock()
		return nil, io.EOF
	}
	want := r.cfg.batch
	if r.cfg.windowRecords > 0 {
		want = min(want, r.cfg.windowRecords-w.records)
	}
	r.mu.Unlock()
	pctx, cancel := context.WithTimeout(ctx, min(left, 500*time.Millisecond))
	fs := r.cl.PollRecords(pctx, want)
	cancel()
	recs := fs.Records()
	if err := fetchErr(fs); err != nil && len(recs) == 0 {
		r.cl.AllowRebalance()
		if errors.Is(err, kgo.ErrClientClosed) {
			return nil, err
		}
		r.env.Log().Warn("kafka fetch", "err", err)
		return nil, nil
	}
	if len(recs) == 0 {
		r.cl.AllowRebalance()
		return nil, nil
	}
	// Registered before rebalances are allowed again: a revocation sees
	// these records as in flight.
	u := r.unit(ctx, w, recs, seq)
	r.cl.AllowRebalance()
	return u, nil
}

// fetchErr returns the first error of a poll that is not the poll's own
// timeout.
func fetchErr(fs kgo.Fetches) error {
	var first error
	fs.EachError(func(_ string, _ int32, err error) {
		if first == nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			first = err
		}
	})
	return first
}

// unit turns polled records into the window's next unit and registers
// them as in flight.
func (r *reader) unit(ctx context.Context, w *window, recs []*kgo.Record, seq int64) *block.Unit {
	batch := &block.Batch{Header: r.hdr, Records: make([]block.Record, len(recs))}
	var poison []int
	for i, kr := range recs {
		batch.Records[i] = r.record(kr, seq+int64(i))
		if batch.Records[i].Outcome.Status == block.Failed {
			poison = append(poison, i)
		}
	}
	if len(poison) > 0 && r.cfg.deadLetter != "" {
		r.deadLetter(ctx, recs, batch, poison)
	}
	r.mu.Lock()
	for i, kr := range recs {
		r.tr.add(&w.track, seq+int64(i), kr.Topic, kr.Partition, kr.Offset, kr.LeaderEpoch)
	}
	w.records += len(recs)
	r.mu.Unlock()
	// filename names the window, so file destinations (${filename}) write
	// one file per window. The generation the records were polled under
	// (rebalances are blocked until Next returns) is their owner epoch in
	// the destination's write-ahead log (blocks/httpwrite/streamwal.go): a
	// member still sending records of a partition the group has since given
	// to another is fenced by the newer generation.
	attrs := block.Attributes{AttrGroup: r.cfg.group, block.AttrFilename: w.item.Name}
	if _, gen := r.cl.GroupMetadata(); gen > 0 {
		attrs[AttrGeneration] = strconv.FormatInt(int64(gen), 10)
	}
	return &block.Unit{Attrs: attrs, Batch: batch}
}

// record builds one record: the message as its value, its position and
// headers as attributes, its tracing id as the request id. A message that
// is too large or not the configured format arrives failed, with the reason.
func (r *reader) record(kr *kgo.Record, seq int64) block.Record {
	attrs := make(block.Attributes, 8+len(kr.Headers))
	attrs[AttrTopic] = kr.Topic
	attrs[AttrPartition] = strconv.FormatInt(int64(kr.Partition), 10)
	attrs[AttrOffset] = strconv.FormatInt(kr.Offset, 10)
	attrs[AttrKey] = string(kr.Key)
	attrs[AttrTimestamp] = strconv.FormatInt(kr.Timestamp.UnixMilli(), 10)
	for _, h := range kr.Headers {
		if r.cfg.headers == HeadersAll || h.Key == HeaderTraceable {
			attrs[h.Key] = string(h.Value)
		}
	}
	id, err := r.cfg.traceID.Eval(attrs)
	if err != nil || id == "" {
		id = attrs[AttrKey] + "_" + attrs[AttrOffset] + "_" + attrs[AttrPartition] + "_" + attrs[AttrTopic]
	}
	attrs[block.AttrRequestID] = id
	rec := block.Record{Seq: seq, Line: seq, Attrs: attrs,
		Cols: []string{kr.Topic, attrs[AttrPartition], attrs[AttrOffset], attrs[AttrKey], id}}
	where := fmt.Sprintf("message %s/%d@%d", kr.Topic, kr.Partition, kr.Offset)
	switch {
	case r.cfg.maxBytes > 0 && len(kr.Value) > r.cfg.maxBytes:
		rec.Fail(r.env.Block, 413, fmt.Sprintf("%s is %d bytes, more than maxMessageBytes %d", where, len(kr.Value), r.cfg.maxBytes))
	case r.cfg.format == FormatText:
		rec.Value = string(kr.Value)
	default:
		v, err := jsonv.Parse(kr.Value)
		if err != nil {
			rec.Fail(r.env.Block, 400, fmt.Sprintf("%s is not valid JSON: %v", where, err))
			break
		}
		rec.Value = v
	}
	return rec
}

// deadLetter copies poison messages to the dead-letter topic, with the
// reason and where they came from as headers, before they end: the commit
// never passes a poison message the dead-letter topic does not hold.
func (r *reader) deadLetter(ctx context.Context, recs []*kgo.Record, b *block.Batch, idx []int) {
	out := make([]*kgo.Record, 0, len(idx))
	for _, i := range idx {
		kr := recs[i]
		hs := append([]kgo.RecordHeader(nil), kr.Headers...)
		hs = append(hs,
			kgo.RecordHeader{Key: "connectplus.error", Value: []byte(b.Records[i].Outcome.Message)},
			kgo.RecordHeader{Key: "connectplus.source", Value: []byte(fmt.Sprintf("%s/%d@%d", kr.Topic, kr.Partition, kr.Offset))},
		)
		out = append(out, &kgo.Record{Topic: r.cfg.deadLetter, Key: kr.Key, Value: kr.Value, Headers: hs})
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	res := r.dlq.ProduceSync(pctx, out...)
	for k, pr := range res {
		o := &b.Records[idx[k]].Outcome
		if pr.Err != nil {
			o.Message += fmt.Sprintf("; the dead-letter topic %s did not take it: %v", r.cfg.deadLetter, pr.Err)
		} else {
			o.Message += fmt.Sprintf("; copied to dead-letter topic %s at %d@%d", r.cfg.deadLetter, pr.Record.Partition, pr.Record.Offset)
		}
	}
}

// Ended moves commit positions past what the engine stored as ended.
func (r *reader) Ended(_ context.Context, it block.Item, upTo int64) {
	r.mu.Lock()
	if w := r.windows[it.Key]; w != nil {
		r.tr.ended(&w.track, upTo)
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Finish ends a window: every record of it ended, so its positions are
// committed now; the result file goes to resultDirectory when one is set.
func (r *reader) Finish(ctx context.Context, it block.Item, c *block.Completion) error {
	r.mu.Lock()
	if w := r.windows[it.Key]; w != nil {
		r.tr.endAll(&w.track)
		w.closed = true
		if r.cur == w {
			r.cur = nil
		}
		delete(r.windows, it.Key)
	}
	r.mu.Unlock()
	if err := r.commit(ctx, nil); err != nil {
		// The positions stay pending and the committer retries them.
		r.env.Log().Warn("kafka commit", "window", it.Name, "err", err)
	}
	r.saveWindows()
	if r.cfg.resultDir == "" || c.Result == nil || !c.HasResult {
		return nil
	}
	return writeResult(r.env, r.cfg.resultDir, c)
}

// Pause stops fetching; the member keeps its partitions and heartbeats.
func (r *reader) Pause() {
	r.mu.Lock()
	r.paused = true
	if r.cur != nil {
		r.cur.closed = true
		r.cur = nil
	}
	r.mu.Unlock()
	if r.cl != nil {
		r.cl.PauseFetchTopics(r.cfg.topics...)
	}
}

// Resume fetches again after Pause.
func (r *reader) Resume() {
	r.mu.Lock()
	r.paused = false
	r.mu.Unlock()
	if r.cl != nil {
		r.cl.ResumeFetchTopics(r.cfg.topics...)
	}
}

// committer commits moved positions when the engine reports progress, and
// once a second for positions a failed commit left pending.
func (r *reader) committer() {
	defer close(r.stopped)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := r.commit(ctx, nil); err != nil {
				r.env.Log().Warn("kafka commit at close", "err", err)
			}
			cancel()
			return
		case <-r.wake:
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := r.commit(ctx, nil); err != nil && !r.closing.Load() {
			r.env.Log().Warn("kafka commit", "err", err)
		}
		cancel()
	}
}

// commit stores the moved positions of the given partitions (all when
// only is nil) in the group.
func (r *reader) commit(ctx context.Context, only map[string][]int32) error {
	r.commitMu.Lock()
	defer r.commitMu.Unlock()
	r.mu.Lock()
	m := r.tr.pending(only)
	r.mu.Unlock()
	if len(m) == 0 || r.cl == nil {
		return nil
	}
	var cerr error
	r.cl.CommitOffsetsSync(ctx, m, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		cerr = commitErr(resp, err)
	})
	if cerr != nil {
		return cerr
	}
	r.mu.Lock()
	r.tr.committed(m)
	r.mu.Unlock()
	return nil
}

// commitErr is the first error of a commit: the request's or a partition's.
func commitErr(resp *kmsg.OffsetCommitResponse, err error) error {
	if err != nil {
		return err
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("%s/%d: %w", t.Topic, p.Partition, err)
			}
		}
	}
	return nil
}

// onRevoked lets the revoked partitions' records in flight end (up to
// revokeWait), commits what ended, and forgets the partitions: records of
// them still travelling finish but are never committed by this member.
func (r *reader) onRevoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	if len(revoked) == 0 {
		return
	}
	if !r.closing.Load() {
		deadline := time.Now().Add(r.cfg.revokeWait)
		for time.Now().Before(deadline) {
			r.mu.Lock()
			n := r.tr.inflight(revoked)
			r.mu.Unlock()
			if n == 0 {
				break
			}
			select {
			case <-ctx.Done():
				deadline = time.Now()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.commit(cctx, revoked); err != nil {
		r.env.Log().Warn("kafka commit on revocation", "err", err)
	}
	r.commitMu.Lock()
	r.mu.Lock()
	abandoned := r.tr.drop(revoked)
	r.mu.Unlock()
	r.commitMu.Unlock()
	r.env.Log().Info("kafka partitions revoked", "partitions", fmt.Sprint(revoked), "abandoned", abandoned)
}

// onLost forgets partitions without committing: the group has moved on.
func (r *reader) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	r.commitMu.Lock()
	r.mu.Lock()
	abandoned := r.tr.drop(lost)
	r.mu.Unlock()
	r.commitMu.Unlock()
	r.env.Log().Warn("kafka partitions lost", "partitions", fmt.Sprint(lost), "abandoned", abandoned)
}

// windowsFile lists the windows not yet finished, so a process started
// after a crash closes them out (their runs complete with what their last
// checkpoint counted) before it opens new ones.
func (r *reader) windowsFile() string {
	dir := r.env.StateDir
	if dir == "" {
		dir = r.env.WorkDir
	}
	if dir == "" {
		return ""
	}
	// The state directory is shared by every cluster node: each keeps its
	// own list (another node's windows are its own to finish).
	if node := option(r.env, block.OptNode); node != "" {
		return filepath.Join(dir, "kafka-windows-"+url.PathEscape(node)+".json")
	}
	return filepath.Join(dir, "kafka-windows.json")
}

// windowsLog is the list's name in the runtime's journal (Env.Journal: a
// cluster whose shared store is S3, where the state directory is the
// node's own): a node started again on another disk under the same name
// finds its list there. Each save appends the whole list and deletes the
// earlier ones, so the last entry is the list.
func (r *reader) windowsLog() string {
	return "kafka-windows/" + url.PathEscape(option(r.env, block.OptNode))
}

// journalTimeout bounds one journal operation of the windows list.
const journalTimeout = 30 * time.Second

func (r *reader) loadWindows() []block.Item {
	var b []byte
	where := ""
	if j := r.env.Journal; j != nil {
		where = "journal " + r.windowsLog()
		ctx, cancel := context.WithTimeout(context.Background(), journalTimeout)
		defer cancel()
		es, err := j.Read(ctx, r.windowsLog())
		if err != nil {
			r.env.Log().Warn("reading the list of unfinished Kafka windows", "journal", r.windowsLog(), "err", err)
			return nil
		}
		if len(es) == 0 {
			return nil
		}
		b = es[len(es)-1]
	} else {
		p := r.windowsFile()
		if p == "" {
			return nil
		}
		where = p
		var err error
		if b, err = os.ReadFile(p); err != nil {
			return nil
		}
	}
	var items []block.Item
	if err := json.Unmarshal(b, &items); err != nil {
		r.env.Log().Warn("unreadable list of unfinished Kafka windows", "file", where, "err", err)
		return nil
	}
	return items
}

func (r *reader) saveWindows() {
	p := r.windowsFile()
	if p == "" && r.env.Journal == nil {
		return
	}
	r.mu.Lock()
	items := make([]block.Item, 0, len(r.windows))
	for _, w := range r.windows {
		items = append(items, w.item)
	}
	r.mu.Unlock()
	b, _ := json.Marshal(items)
	if j := r.env.Journal; j != nil {
		if err := saveWindowsJournal(j, r.windowsLog(), b); err != nil {
			r.env.Log().Warn("saving unfinished Kafka windows", "err", err)
		}
		return
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err == nil {
		err = os.Rename(tmp, p)
		if err != nil {
			r.env.Log().Warn("saving unfinished Kafka windows", "err", err)
		}
	}
}

// saveWindowsJournal appends the list and deletes the lists before it (a
// round reads them under the log's lock, so two saves never delete each
// other's list; the later one wins, as a rename does).
func saveWindowsJournal(j block.Journal, log string, list []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), journalTimeout)
	defer cancel()
	res, err := j.Round(ctx, log, block.JournalRound{Entry: list})
	if err != nil {
		return fmt.Errorf("unfinished Kafka windows: %w", err)
	}
	if len(res.Entries) == 0 {
		return nil
	}
	ids := make([]int64, len(res.Entries))
	for i, e := range res.Entries {
		ids[i] = e.ID
	}
	if err := j.Delete(ctx, log, ids); err != nil {
		return fmt.Errorf("unfinished Kafka windows: %w", err)
	}
	return nil
}

var _ block.Stream = (*reader)(nil)
