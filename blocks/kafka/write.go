package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/fsroot"
)

// writeConfig is a destination block's validated settings.
type writeConfig struct {
	topic       *block.Template
	key         *block.Template
	headers     string
	acks        string
	idempotent  bool
	compression string
	linger      time.Duration
	batchBytes  int32
	timeout     time.Duration
}

// writer produces one Kafka record per record it receives. A record is
// delivered when the broker acknowledged it (with acks=all: every in-sync
// replica has it); one the broker refused, or that timed out, fails with
// the reason.
type writer struct {
	typ  string
	name string
	cfg  writeConfig
	conn *Conn
	env  *block.Env
	cl   *kgo.Client
}

// Start connects, so a wrong password or an unreachable broker fails the
// deployment with the reason.
func (w *writer) Start(ctx context.Context) error {
	opts := append(w.conn.Opts(w.env, "connectplus-"+w.typ),
		kgo.ProducerLinger(w.cfg.linger),
		kgo.ProducerBatchMaxBytes(w.cfg.batchBytes),
		kgo.RecordDeliveryTimeout(w.cfg.timeout),
	)
	switch w.cfg.acks {
	case "leader":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case "none":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	default:
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
		if !w.cfg.idempotent {
			opts = append(opts, kgo.DisableIdempotentWrite())
		}
	}
	switch w.cfg.compression {
	case "gzip":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.GzipCompression()))
	case "snappy":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.SnappyCompression()))
	case "lz4":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.Lz4Compression()))
	case "zstd":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.ZstdCompression()))
	default:
		opts = append(opts, kgo.ProducerBatchCompression(kgo.NoCompression()))
	}
	if option(w.env, OptSandboxBroker) != "" {
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
		return fmt.Errorf("Kafka connection %q (%s): %w", w.conn.Name, strings.Join(w.conn.Brokers, ","), err)
	}
	w.cl = cl
	return nil
}

// Close flushes what is buffered and disconnects.
func (w *writer) Close() error {
	if w.cl == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := w.cl.Flush(ctx)
	w.cl.Close()
	w.cl = nil
	return err
}

// Process produces the unit's records and waits for every acknowledgement,
// so outputs keep input order: delivered records are acknowledged and
// passed on success, failed ones take the failure relation.
func (w *writer) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	if u.Batch == nil {
		return fmt.Errorf("%s sends records: connect it after a block that makes records (kafka_topic_read, convert_csv_to_json, jslt_transform)", w.typ)
	}
	recs := u.Batch.Records
	if len(recs) == 0 {
		return nil
	}
	if w.cl == nil {
		return errors.New("the Kafka producer is not connected")
	}
	krs := make([]*kgo.Record, len(recs))
	errs := make([]error, len(recs))
	for i := range recs {
		look := block.RecordLookup{Unit: u, Batch: u.Batch, Index: i}
		kr, err := w.message(u, i, look)
		if err != nil {
			errs[i] = err
			continue
		}
		krs[i] = kr
	}
	done := make(chan struct{}, len(recs))
	sent := 0
	for i, kr := range krs {
		if kr == nil {
			continue
		}
		sent++
		i := i
		w.cl.Produce(ctx, kr, func(_ *kgo.Record, err error) {
			errs[i] = err
			done <- struct{}{}
		})
	}
	for k := 0; k < sent; k++ {
		<-done // every callback runs, also when ctx ends (with ctx's error)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	failed := 0
	for i := range recs {
		r := &recs[i]
		if errs[i] != nil {
			r.Fail(w.name, 0, "Kafka: "+errs[i].Error())
			failed++
			continue
		}
		r.Outcome = block.Outcome{Status: block.Delivered, Code: 200, Block: w.name,
			EntityID: fmt.Sprintf("%s/%d@%d", krs[i].Topic, krs[i].Partition, krs[i].Offset)}
	}
	switch failed {
	case 0:
		out.Ack(u, nil)
		return out.Emit(ctx, block.RelSuccess, u)
	case len(recs):
		return out.Emit(ctx, block.RelFailure, u)
	}
	ok := make([]block.Record, 0, len(recs)-failed)
	bad := make([]block.Record, 0, failed)
	for i := range recs {
		if recs[i].Outcome.Status == block.Failed {
			bad = append(bad, recs[i])
		} else {
			ok = append(ok, recs[i])
		}
	}
	okU, badU := u.Derive(), u.Derive()
	okU.Batch, badU.Batch = u.Batch.With(ok), u.Batch.With(bad)
	out.Ack(okU, nil)
	if err := out.Emit(ctx, block.RelSuccess, okU); err != nil {
		return err
	}
	return out.Emit(ctx, block.RelFailure, badU)
}

// message builds record i's Kafka record: its JSON value (a text value as
// is), the key expression, the headers the Header field selects.
func (w *writer) message(u *block.Unit, i int, look block.RecordLookup) (*kgo.Record, error) {
	topic, err := w.cfg.topic.Eval(look)
	if err != nil {
		return nil, fmt.Errorf("topic: %w", err)
	}
	if topic = strings.TrimSpace(topic); topic == "" {
		return nil, errors.New("the topic expression gave an empty topic")
	}
	key, err := w.cfg.key.Eval(look)
	if err != nil {
		return nil, fmt.Errorf("kafkakey: %w", err)
	}
	r := &u.Batch.Records[i]
	var value []byte
	if s, ok := r.Value.(string); ok {
		value = []byte(s)
	} else {
		value = u.Batch.AppendRecordJSON(nil, i)
	}
	kr := &kgo.Record{Topic: topic, Value: value}
	if key != "" {
		kr.Key = []byte(key)
	}
	kr.Headers = w.headersOf(u, r)
	return kr, nil
}

// headersOf selects the attributes sent as headers: every record and unit
// attribute (All), or only the tracing id (Traceable Id).
func (w *writer) headersOf(u *block.Unit, r *block.Record) []kgo.RecordHeader {
	if w.cfg.headers != HeadersAll {
		id := r.Attrs[HeaderTraceable]
		if id == "" {
			id = r.Attrs[block.AttrRequestID]
		}
		if id == "" {
			id = u.Attrs[block.AttrRequestID]
		}
		if id == "" {
			return nil
		}
		return []kgo.RecordHeader{{Key: HeaderTraceable, Value: []byte(id)}}
	}
	all := make(map[string]string, len(u.Attrs)+len(r.Attrs))
	for k, v := range u.Attrs {
		all[k] = v
	}
	for k, v := range r.Attrs {
		all[k] = v
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	hs := make([]kgo.RecordHeader, 0, len(keys))
	for _, k := range keys {
		hs = append(hs, kgo.RecordHeader{Key: k, Value: []byte(all[k])})
	}
	return hs
}

// writeResult copies a window's result file into dir, never over another
// (a second one of the same name gets a variant name, as for files).
func writeResult(env *block.Env, dir string, c *block.Completion) error {
	pol := env.LocalPaths
	if pol == nil {
		var err error
		if pol, err = fsroot.Unconfined(); err != nil {
			return err
		}
	}
	if err := pol.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("resultDirectory: %w", err)
	}
	rc, err := c.Result()
	if err != nil {
		return fmt.Errorf("result file: %w", err)
	}
	defer rc.Close()
	name := c.ResultName
	var f *os.File
	for n := 1; ; n++ {
		if n > 1 {
			name = block.ResultNameVariant(c.ResultName, n)
		}
		f, err = pol.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || n > 1000 {
			return fmt.Errorf("result file: %w", err)
		}
	}
	if name != c.ResultName {
		c.WrittenAs = name
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return fmt.Errorf("result file: %w", err)
	}
	return f.Close()
}

var (
	_ block.Processor = (*writer)(nil)
	_ block.Starter   = (*writer)(nil)
	_ block.Closer    = (*writer)(nil)
	_ block.Starter   = (*reader)(nil)
	_ block.Closer    = (*reader)(nil)
)
