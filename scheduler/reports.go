package scheduler

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/sharedstore"
)

// reconRecorder keeps the reconciliation reports a deployment's blocks
// write (block.Env.Reports): the report and every record it counts go to
// the store, and a copy of the results file goes beside the kept result
// files (purged with them), for download.
type reconRecorder struct {
	m    *Manager
	dep  runstate.Deployment
	repo runstate.ReconciliationRepo
	dir  string
}

// reportsFor returns the report recorder of a deployment, nil when the
// repository keeps no reconciliations.
func (m *Manager) reportsFor(d runstate.Deployment) block.ReportRecorder {
	repo, ok := m.opts.Repo.(runstate.ReconciliationRepo)
	if !ok {
		return nil
	}
	return &reconRecorder{m: m, dep: d, repo: repo,
		dir: filepath.Join(m.opts.SharedDir, "results", safeSegment(d.OrgID), safeSegment(d.FlowID), "reconciliations")}
}

// ReconciliationID names the reconciliation a block reports about a run:
// the same run and block always give the same ID, so a resumed run's
// report replaces the interrupted one's.
func ReconciliationID(orgID, flowID, runID, blockName string) string {
	h := sha256.Sum256([]byte(orgID + "\x00" + flowID + "\x00" + runID + "\x00" + blockName))
	return "rcn_" + hex.EncodeToString(h[:12])
}

func (r *reconRecorder) RecordReport(d block.ReportDoc) {
	if d.Kind != "reconciliation" {
		return
	}
	log := r.m.log.With("org", r.dep.OrgID, "flow", r.dep.FlowName, "run", d.LineageID, "block", d.Block)
	if err := r.record(context.WithoutCancel(r.m.ctx), d); err != nil {
		// The block's own outputs (results file, report file) are not
		// affected: only the copy the server shows is missing.
		log.Error("keeping the reconciliation report", "err", err)
	}
}

func (r *reconRecorder) record(ctx context.Context, d block.ReportDoc) error {
	rep, err := runstate.ParseReconReport(d.Doc)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	rec := runstate.Reconciliation{
		ID: ReconciliationID(r.dep.OrgID, r.dep.FlowID, d.LineageID, d.Block), OrgID: r.dep.OrgID, FlowID: r.dep.FlowID, FlowName: r.dep.FlowName,
		Version: r.dep.Version, RunID: d.LineageID, Block: d.Block, File: d.File, Source: rep.Source, Entity: rep.Entity, DiffPath: rep.DiffPath,
		Started: rep.Started, Finished: rep.Finished, Totals: rep.Totals, LookupRequests: rep.Requests, ResumedRows: rep.Resumed,
		MatchedOn: rep.MatchedOn, Compared: rep.Compared, Unverified: rep.Unverified, FromYear: rep.FromYear,
	}
	if d.Results != "" || d.Records != "" {
		if err := os.MkdirAll(r.dir, 0o700); err != nil {
			return err
		}
	}
	if d.Results != "" && r.m.opts.Shared.Dir() == "" {
		// On S3: uploaded beside the kept result files (purged with them).
		in, err := os.Open(d.Results)
		if err != nil {
			return fmt.Errorf("results file: %w", err)
		}
		key := "results/" + safeSegment(r.dep.OrgID) + "/" + safeSegment(r.dep.FlowID) + "/reconciliations/" + rec.ID + ".csv"
		err = putObject(ctx, r.m.opts.Shared, key, in)
		in.Close()
		if err != nil {
			return fmt.Errorf("results file: %w", err)
		}
		rec.ResultName, rec.ResultPath = path.Base(d.File), r.m.opts.Shared.Ref(key)
	} else if d.Results != "" {
		dst := filepath.Join(r.dir, rec.ID+".csv")
		if err := linkOrCopy(d.Results, dst); err != nil {
			return fmt.Errorf("results file: %w", err)
		}
		rec.ResultName, rec.ResultPath = path.Base(d.File), dst
	}
	if d.Records == "" {
		rec.Status = runstate.ReconFinished
		return r.repo.SaveReconciliation(ctx, rec, func(yield func(runstate.ReconRecord) error) error {
			for _, x := range rep.Differences {
				if err := yield(x); err != nil {
					return err
				}
			}
			return nil
		})
	}
	t := rep.Totals
	if t.Missing+t.Mismatched+t.Duplicates+t.Invalid <= r.m.opts.ReconSyncRecords {
		rec.Status = runstate.ReconFinished
		return r.repo.SaveReconciliation(ctx, rec, recordsOf(d.Records))
	}
	// A large report: the block need not wait for its records (a million
	// take ~20 s). The records file and the reconciliation are kept beside
	// the results until stored — a server stopped meanwhile stores them at
	// its next start — and the reconciliation is visible at once with its
	// final totals and status saving.
	p := pendingReport{Reconciliation: rec, ResultPath: rec.ResultPath, Records: filepath.Join(r.dir, rec.ID+".records.jsonl"), Node: r.m.opts.Node}
	if err := linkOrCopy(d.Records, p.Records); err != nil {
		return fmt.Errorf("records file: %w", err)
	}
	pending := filepath.Join(r.dir, rec.ID+pendingSuffix)
	if err := writePending(pending, p); err != nil {
		return err
	}
	rec.Status = runstate.ReconSaving
	if err := r.repo.SaveReconciliation(ctx, rec, nil); err != nil {
		return err
	}
	r.m.savePendingInBackground(pending)
	return nil
}

// recordsOf yields the records of a records file (one JSON object a line).
func recordsOf(name string) func(yield func(runstate.ReconRecord) error) error {
	return func(yield func(runstate.ReconRecord) error) error {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("records: %w", err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for n := 1; sc.Scan(); n++ {
			var x runstate.ReconRecord
			if err := json.Unmarshal(sc.Bytes(), &x); err != nil {
				return fmt.Errorf("records line %d: %w", n, err)
			}
			if err := yield(x); err != nil {
				return err
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("records: %w", err)
		}
		return nil
	}
}

// pendingSuffix names a reconciliation whose records are still to be
// stored (<id>.pending.json beside its results and records files).
const pendingSuffix = ".pending.json"

// pendingReport is what a background save needs, kept on disk until done.
type pendingReport struct {
	Reconciliation runstate.Reconciliation `json:"reconciliation"`
	ResultPath     string                  `json:"resultPath"` // not in Reconciliation's JSON
	Records        string                  `json:"records"`
	// Node is the cluster node that wrote it (empty on one server): in a
	// cluster, that node stores it at its next start.
	Node string `json:"node,omitempty"`
}

func writePending(name string, p pendingReport) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	tmp := name + ".part"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("pending report: %w", err)
	}
	return os.Rename(tmp, name)
}

// savePendingInBackground stores a pending report's records; shutdown
// waits for it (m.bg). Cancelled by the shutdown, it stays pending (status
// saving) and the next start stores it; any other failure marks it failed
// and leaves it pending for the next start too.
func (m *Manager) savePendingInBackground(pending string) {
	repo, ok := m.opts.Repo.(runstate.ReconciliationRepo)
	if !ok {
		return
	}
	m.mu.Lock()
	ctx := m.ctx
	m.mu.Unlock()
	if ctx == nil {
		ctx = context.Background()
	}
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		log := m.log.With("pending", filepath.Base(pending))
		b, err := os.ReadFile(pending)
		if err != nil {
			log.Error("reading a pending reconciliation report", "err", err)
			return
		}
		var p pendingReport
		if err := json.Unmarshal(b, &p); err != nil {
			log.Error("reading a pending reconciliation report", "err", err)
			return
		}
		rec := p.Reconciliation
		rec.ResultPath = p.ResultPath
		rec.Status = runstate.ReconSaving
		if err := repo.SaveReconciliationChunked(ctx, rec, recordsOf(p.Records)); err != nil {
			if ctx.Err() != nil {
				return // stopping: stored at the next start
			}
			log.Error("keeping the reconciliation report's records", "reconciliation", rec.ID, "err", err)
			if serr := repo.SetReconciliationStatus(context.WithoutCancel(ctx), rec.ID, runstate.ReconFailed); serr != nil {
				log.Error("marking the reconciliation failed", "reconciliation", rec.ID, "err", serr)
			}
			return
		}
		os.Remove(p.Records)
		os.Remove(pending)
	}()
}

// resumePendingReports stores the records of the reports a previous
// process left pending (in a cluster, those this node wrote: another
// node's may still be saving them).
func (m *Manager) resumePendingReports() {
	if _, ok := m.opts.Repo.(runstate.ReconciliationRepo); !ok {
		return
	}
	names, err := filepath.Glob(filepath.Join(m.opts.SharedDir, "results", "*", "*", "reconciliations", "*"+pendingSuffix))
	if err != nil {
		m.log.Error("listing pending reconciliation reports", "err", err)
		return
	}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			m.log.Error("reading a pending reconciliation report", "pending", filepath.Base(n), "err", err)
			continue
		}
		var p pendingReport
		if err := json.Unmarshal(b, &p); err != nil {
			m.log.Error("reading a pending reconciliation report", "pending", filepath.Base(n), "err", err)
			continue
		}
		if p.Node != m.opts.Node {
			continue
		}
		m.savePendingInBackground(n)
	}
}

// linkOrCopy makes dst a copy of src: a hard link when both are on one
// file system (the block's work file is not written again), else a copy
// written under a temporary name and renamed, so dst is never partial.
func linkOrCopy(src, dst string) error {
	_ = os.Remove(dst)
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".part"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	err = errors.Join(err, out.Sync(), out.Close())
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}

// safeSegment makes an id one path segment.
func safeSegment(s string) string {
	out := []rune(s)
	for i, c := range out {
		if c == '/' || c == '\\' || c == '.' {
			out[i] = '_'
		}
	}
	return string(out)
}

// runLedger is a deployment's delivery ledger (block.Env.Ledger): the
// result files the runtime kept of the runs of a dataflow of the same
// organisation, found by the dataflow's name through its runs (a dataflow
// that is no longer Live still has them, within the retention).
type runLedger struct {
	repo   runstate.Repo
	org    string
	shared sharedstore.Store
}

func (m *Manager) ledgerFor(d runstate.Deployment) block.DeliveryLedger {
	return &runLedger{repo: m.opts.Repo, org: d.OrgID, shared: m.opts.Shared}
}

// ledgerPage is how many runs one query of the ledger reads.
const ledgerPage = 1000

func (l *runLedger) ResultFiles(ctx context.Context, flowName string) ([]block.LedgerFile, error) {
	var out []block.LedgerFile
	for off := 0; ; off += ledgerPage {
		runs, err := l.repo.ListRuns(ctx, runstate.RunFilter{OrgID: l.org, Limit: ledgerPage, Offset: off})
		if err != nil {
			return nil, fmt.Errorf("runs: %w", err)
		}
		for _, r := range runs {
			if r.FlowName != flowName || r.ResultPath == "" || !finishedRun(r.Status) {
				continue
			}
			ref := r.ResultPath
			var open func(context.Context) (io.ReadCloser, error)
			if strings.HasPrefix(ref, "s3://") {
				// On the shared store: opened from there (a purged one
				// fails the reconciliation with the store's not-found).
				open = func(ctx context.Context) (io.ReadCloser, error) { return l.shared.OpenRef(ctx, ref) }
			} else if st, err := os.Stat(ref); err != nil || !st.Mode().IsRegular() {
				continue // purged with the retention
			}
			name := r.ResultName
			if name == "" {
				name = path.Base(filepath.ToSlash(ref))
			}
			out = append(out, block.LedgerFile{Name: name, Path: ref, Open: open})
		}
		if len(runs) < ledgerPage {
			break
		}
	}
	// Runs are listed newest first; the ledger reads them oldest first.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

func finishedRun(status string) bool {
	switch status {
	case runstate.RunSuccess, runstate.RunPartial, runstate.RunFailure:
		return true
	}
	return false
}
