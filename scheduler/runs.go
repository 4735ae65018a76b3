package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/engine"
	"github.com/connectplus/connectplus/runstate"
)

// runObserver turns engine lineage events into run records.
type runObserver struct {
	m   *Manager
	dep runstate.Deployment
}

func (o *runObserver) LineageStarted(_ string, it block.Item, lineageID string, resumed bool) {
	ctx := context.WithoutCancel(o.m.ctx)
	if o.m.opts.Metrics != nil {
		o.m.opts.Metrics.LineageStarted(o.dep, resumed)
	}
	r := runstate.Run{
		ID: lineageID, OrgID: o.dep.OrgID, FlowID: o.dep.FlowID, FlowName: o.dep.FlowName,
		VersionID: o.dep.VersionID, Version: o.dep.Version,
		FileName: it.Name, FilePath: it.Key, FileSize: it.Size,
		Status: runstate.RunRunning, Started: o.m.opts.Clock.Now(), Node: o.m.opts.Node,
	}
	if resumed {
		if prev, err := o.m.opts.Repo.GetRun(ctx, o.dep.OrgID, lineageID); err == nil {
			r.Started = prev.Started
			r.Interruptions = prev.Interruptions + 1
		}
	}
	if err := o.m.opts.Repo.UpsertRun(ctx, r); err != nil {
		o.m.log.Error("recording run start", "run", lineageID, "err", err)
	}
}

func (o *runObserver) Progress(bytes int64) {
	if o.m.opts.Metrics != nil {
		o.m.opts.Metrics.Progress(o.dep, bytes)
	}
}

func (o *runObserver) Records(int64) {}

func (o *runObserver) LineageDone(res engine.LineageResult) {
	ctx := context.WithoutCancel(o.m.ctx)
	o.m.metrics.observe(o.dep.OrgID, o.dep.FlowID, res)
	if o.m.opts.Metrics != nil {
		o.m.opts.Metrics.LineageDone(o.dep, res)
	}
	fin := res.Finished
	r := runstate.Run{
		ID: res.ID, OrgID: o.dep.OrgID, FlowID: o.dep.FlowID, FlowName: o.dep.FlowName,
		VersionID: o.dep.VersionID, Version: o.dep.Version, Source: res.Source,
		FileName: res.Item.Name, FilePath: res.Item.Key, FileSize: res.Item.Size,
		Status: res.Status, Error: strings.TrimSpace(res.Error + " " + res.FinishError),
		Started: res.Started, Finished: &fin,
		RecordsIn: res.Counts.In, Delivered: res.Counts.Delivered, Filtered: res.Counts.Filtered,
		Failed: res.Counts.Failed, RetryExhausted: res.Counts.RetryExhausted,
		Interruptions: res.Interruptions, ResultName: res.ResultName, ResultPath: res.ResultPath,
		StatusCodes: map[string]int64{}, Node: o.m.opts.Node,
	}
	if res.Counts.In > 0 {
		r.AvgRecordMicros = fin.Sub(res.Started).Microseconds() / res.Counts.In
	}
	for code, n := range res.StatusCodes {
		r.StatusCodes[strconv.Itoa(code)] = n
	}
	if b, err := json.Marshal(res.Blocks); err == nil {
		r.BlockStats = b
	}
	if prev, err := o.m.opts.Repo.GetRun(ctx, o.dep.OrgID, res.ID); err == nil && prev.Interruptions > r.Interruptions {
		r.Interruptions = prev.Interruptions
	}
	if err := o.m.opts.Repo.UpsertRun(ctx, r); err != nil {
		o.m.log.Error("recording run", "run", res.ID, "err", err)
	}
}

// Summarize aggregates runs into a dataflow summary (accuracy % =
// delivered ÷ input × 100).
func Summarize(flowID string, runs []runstate.Run) runstate.Summary {
	s := runstate.Summary{FlowID: flowID, ByStatus: map[string]int{}, StatusCodes: map[string]int64{}}
	for _, r := range runs {
		s.Runs++
		s.RecordsIn += r.RecordsIn
		s.Delivered += r.Delivered
		s.Filtered += r.Filtered
		s.Failed += r.Failed
		s.RetryExhausted += r.RetryExhausted
		s.ByStatus[r.Status]++
		for k, v := range r.StatusCodes {
			s.StatusCodes[k] += v
		}
	}
	if s.RecordsIn > 0 {
		s.AccuracyPct = float64(s.Delivered) / float64(s.RecordsIn) * 100
	}
	return s
}

// watch is a place a dataflow reads from or writes results to.
type watch struct {
	kind string // "source folder" or "error folder"
	key  string
	desc string
}

// watches lists a document's source folders and result folders.
func watches(doc *dataflow.Document, resolve func(v any) string) []watch {
	var out []watch
	for _, b := range doc.Blocks {
		host := resolve(b.Config["hostname"])
		port := resolve(b.Config["port"])
		bucket := resolve(b.Config["s3BucketName"])
		server := b.Type
		switch {
		case host != "":
			server = "sftp://" + host + ":" + port
		case bucket != "":
			server = "s3://" + bucket
		case b.Type == "file_read":
			server = "file://"
		}
		clean := func(p string) string {
			if p == "" {
				return ""
			}
			return strings.TrimSuffix(path.Clean("/"+p), "/")
		}
		for _, k := range []string{"sourceDirectory", "s3InputPath"} {
			if d := clean(resolve(b.Config[k])); d != "" {
				out = append(out, watch{kind: "source folder", key: server + d, desc: fmt.Sprintf("%s %s (block %s)", server, d, b.Name)})
			}
		}
		if d := clean(resolve(b.Config["apiErrorFilePath"])); d != "" {
			out = append(out, watch{kind: "error folder", key: server + d, desc: fmt.Sprintf("%s %s (block %s)", server, d, b.Name)})
		}
		// Two dataflows in one Kafka consumer group split its messages
		// between them. The default group, ${neoDataflowId}, is the
		// dataflow's own; only a literal group can be shared.
		if g := resolve(b.Config["groupId"]); g != "" && !strings.Contains(g, "${") {
			out = append(out, watch{kind: "Kafka consumer group", key: "kafka-group:" + g, desc: fmt.Sprintf("%q (block %s)", g, b.Name)})
		}
	}
	return out
}

// CheckSourceConflict implements runstate.Controller: two Live dataflows of
// one organisation may not watch the same source folder or write results to
// the same error folder (they would race for files).
func (m *Manager) CheckSourceConflict(ctx context.Context, orgID, flowID string, document []byte) error {
	doc, err := dataflow.Parse(document, "candidate")
	if err != nil {
		return err
	}
	resolve := func(v any) string {
		switch x := v.(type) {
		case nil:
			return ""
		case string:
			return x
		case map[string]any:
			if n, ok := x["$config"].(string); ok {
				if val, err := m.opts.Repo.ResolveConfig(ctx, orgID, n); err == nil {
					return val
				}
				return "config:" + n
			}
		}
		return fmt.Sprint(v)
	}
	mine := watches(doc, resolve)
	deps, err := m.opts.Repo.LiveDeployments(ctx)
	if err != nil {
		return err
	}
	for _, d := range deps {
		if d.OrgID != orgID || d.FlowID == flowID {
			continue
		}
		other, err := dataflow.Parse(d.Document, d.FlowName)
		if err != nil {
			continue
		}
		for _, w := range watches(other, resolve) {
			for _, x := range mine {
				if w.kind == x.kind && w.key == x.key {
					return fmt.Errorf("%w: %s %s is already used by Live dataflow %q; two dataflows on one %s race for %s", ErrConflict, x.kind, x.desc, d.FlowName, x.kind, raceFor(x.kind))
				}
			}
		}
	}
	return nil
}

func raceFor(kind string) string {
	if strings.HasPrefix(kind, "Kafka") {
		return "messages"
	}
	return "files"
}

// ErrConflict marks a refused go-live.
var ErrConflict = fmt.Errorf("conflict")
