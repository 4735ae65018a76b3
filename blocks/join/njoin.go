package join

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/connectplus/connectplus/block"
)

// Attributes set on the joined file.
const (
	AttrJoinFiles      = "join.files"          // the set's file names, in file order
	AttrJoinRows       = "join.rows"           // data rows written
	AttrDuplicateKeys  = "join.duplicate.keys" // bill rows dropped by TRANSACTION_LINE_ITEM
	AttrDelimiter      = "file.delimiter"
	AttrOrphanLineage  = "join.lineage" // on an expired file: the lineage it arrived in
	AttrJoinWaitingFor = "join.waiting.for"
)

// setJoiner turns a complete set of spooled files into one output file.
type setJoiner func(ctx context.Context, set []*pendingFile, outPath string) (attrs map[string]string, err error)

// waitingBlock is the Process/Start/Close/EndLineage shell shared by every
// join block: companion collection, expired-file reporting, output spills.
type waitingBlock struct {
	typ     string
	col     *collector
	outName *block.Template
	join    setJoiner
	dir     string
	log     *slog.Logger

	mu     sync.Mutex
	spills block.Spills          // lineage -> files to delete at its end
	holds  map[string]block.Held // lineage -> hold of a file waiting for companions
}

func newWaitingBlock(typ string, env *block.Env, slots []slotMatcher, timeout time.Duration, outName string) (*waitingBlock, error) {
	w := &waitingBlock{typ: typ, dir: env.WorkDir, log: env.Log(), spills: block.Spills{Dir: env.WorkDir}, holds: map[string]block.Held{}}
	var err error
	if w.outName, err = env.CompileTemplate(fixDocNameTemplate(outName)); err != nil {
		return nil, fmt.Errorf("output file name: %w", err)
	}
	if w.col, err = newCollector(env.WorkDir, slots, timeout, env.Clock, w.log); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *waitingBlock) track(lineage string, paths ...string) {
	w.spills.Add(lineage, paths...)
}

// Start runs the companion-timeout loop.
func (w *waitingBlock) Start(ctx context.Context) error {
	w.col.onExpire = w.expireHeld
	w.col.start(ctx)
	return nil
}

// expireHeld fails the held lineage of a file whose companions never came:
// the source moves that file to its error location with the reason.
func (w *waitingBlock) expireHeld(p *pendingFile) bool {
	w.mu.Lock()
	h := w.holds[p.Lineage]
	delete(w.holds, p.Lineage)
	w.mu.Unlock()
	if h == nil {
		return false
	}
	h.Fail(errors.New(p.Reason))
	return true
}

// releaseHeld ends the holds of a completed set's earlier files: they
// complete (and are moved to processed) now that the join ran.
func (w *waitingBlock) releaseHeld(set []*pendingFile, current string) {
	w.mu.Lock()
	var hs []block.Held
	for _, p := range set {
		if h := w.holds[p.Lineage]; h != nil && p.Lineage != current {
			hs = append(hs, h)
			delete(w.holds, p.Lineage)
		}
	}
	w.mu.Unlock()
	for _, h := range hs {
		h.Release()
	}
}

func (w *waitingBlock) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	lin := u.LineageID()
	// Files that timed out since the last call: their own lineages are
	// complete, so they are reported here (see collector.go).
	for _, p := range w.col.takeExpired() {
		f, err := block.LocalFile(p.Name, p.dataPath())
		if err != nil {
			w.log.Error("join: expired file lost", "file", p.Name, "err", err)
			continue
		}
		w.track(lin, p.dataPath())
		fu := &block.Unit{Attrs: block.Attributes(p.Attrs).Clone(), File: f}
		fu.Attrs[block.ErrorAttr] = p.Reason
		fu.Attrs[AttrOrphanLineage] = p.Lineage
		fu.Attrs[block.AttrLineageID] = lin
		if err := out.Emit(ctx, block.RelFailure, fu); err != nil {
			return err
		}
	}
	if u.File == nil {
		return fmt.Errorf("%s takes files; it received records", w.typ)
	}
	res, err := w.col.add(ctx, u)
	if err != nil {
		return err
	}
	switch {
	case res.dropped != "":
		w.log.Warn("join: file dropped", "reason", res.dropped)
		return nil
	case res.set == nil:
		w.log.Info("join: file waits for its companions", "file", u.Attrs[block.AttrFilename], "missing", res.waiting)
		if holder, ok := out.(block.Holder); ok && lin != "" {
			// Keep this file's lineage open until its set is joined or
			// times out, so a missing companion fails this very file.
			h := holder.Hold(u)
			w.mu.Lock()
			w.holds[lin] = h
			w.mu.Unlock()
		}
		return nil
	}
	defer func() {
		for _, p := range res.set {
			p.remove()
		}
		w.releaseHeld(res.set, lin)
	}()
	name, err := w.outName.Eval(u.Attrs)
	if err != nil {
		return fmt.Errorf("output file name: %w", err)
	}
	if name, err = safeFileName(name); err != nil {
		return err
	}
	f, err := os.CreateTemp(w.dir, "join-out-*")
	if err != nil {
		return fmt.Errorf("join output: %w", err)
	}
	path := f.Name()
	f.Close()
	w.track(lin, path)
	attrs, err := w.join(ctx, res.set, path)
	if err != nil {
		names := make([]string, len(res.set))
		for i, p := range res.set {
			names[i] = p.Name
		}
		return fmt.Errorf("joining %s: %w", strings.Join(names, ", "), err)
	}
	lf, err := block.LocalFile(name, path)
	if err != nil {
		return err
	}
	nu := u.Derive()
	nu.File = lf
	nu.Attrs[block.AttrFilename] = name
	nu.Attrs[block.AttrFileSize] = strconv.FormatInt(lf.Size, 10)
	names := make([]string, len(res.set))
	for i, p := range res.set {
		names[i] = p.Name
	}
	nu.Attrs[AttrJoinFiles] = strings.Join(names, ",")
	for k, v := range attrs {
		nu.Attrs[k] = v
	}
	return out.Emit(ctx, block.RelSuccess, nu)
}

// EndLineage removes the lineage's output and reported expired files.
func (w *waitingBlock) EndLineage(_ context.Context, lineageID string, _ bool) error {
	w.spills.Release(lineageID)
	return nil
}

// Close stops the timeout loop and removes outputs; files still waiting stay
// in the work directory and are reloaded by the next run.
func (w *waitingBlock) Close() error {
	w.col.close()
	w.spills.ReleaseAll()
	return nil
}

// nJoin is two_join, three_join or four_join.
type nJoin struct {
	*waitingBlock
	plan joinPlan
}

func newNJoin(c *block.Config, env *block.Env, n int) (block.Block, error) {
	delim, err := parseDelimiter(c.String(keyDelimiter))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyDelimiter, err)
	}
	timeout, err := parseTimeout(c.String(keyTimeout))
	if err != nil {
		return nil, err
	}
	b := &nJoin{plan: joinPlan{
		delim: delim, lineItem: c.String(keyUseCase) == UseCaseLineItem, workDir: env.WorkDir,
		memLimit: int64(c.Int(keySortMemory, 96)) << 20, types: make([]string, n),
	}}
	slots := make([]slotMatcher, n)
	for i := 1; i <= n; i++ {
		re, err := block.CompileJavaRegexWhole(c.String(keyRegex(i)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", keyRegex(i), err)
		}
		slots[i-1] = slotMatcher{label: c.String(keyRegex(i)), re: re}
		if c.Bool(keyCommonName) {
			if slots[i-1].key, err = templateRegex(c.String(keyTemplate(i))); err != nil {
				return nil, fmt.Errorf("%s: %w", keyTemplate(i), err)
			}
		}
		keys := c.List(keyHeaders(i))
		if len(keys) == 0 {
			return nil, fmt.Errorf("%s: no key column", keyHeaders(i))
		}
		b.plan.inputs = append(b.plan.inputs, joinInput{headerless: c.Bool(keyHeaderless(i)), names: c.List(keyNames(i)), keys: keys})
		if i > 1 {
			if b.plan.types[i-1], err = NormalizeJoinType(c.String(keyJoinType(i))); err != nil {
				return nil, fmt.Errorf("%s: %w", keyJoinType(i), err)
			}
		}
	}
	typ := map[int]string{2: "two_join", 3: "three_join", 4: "four_join"}[n]
	if b.waitingBlock, err = newWaitingBlock(typ, env, slots, timeout, c.String(keyOutput)); err != nil {
		return nil, err
	}
	b.col.alphabetical = c.Bool(keyAlphabetical)
	b.col.unique = c.Bool(keyAllUnique)
	b.col.dropUnmatched = c.Bool(keyMatchAll)
	b.join = b.joinSet
	return b, nil
}

func (b *nJoin) joinSet(ctx context.Context, set []*pendingFile, outPath string) (map[string]string, error) {
	p := b.plan
	p.inputs = append([]joinInput(nil), b.plan.inputs...)
	for i, f := range set {
		p.inputs[i].path, p.inputs[i].name = f.dataPath(), f.Name
	}
	f, err := os.OpenFile(outPath, os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	st, err := runJoin(ctx, &p, f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write joined file: %w", cerr)
	}
	if err != nil {
		return nil, err
	}
	if st.duplicateKeys > 0 {
		b.log.Warn("join: repeated bill keys; first bill row kept", "dropped", st.duplicateKeys)
	}
	return map[string]string{
		AttrJoinRows:      strconv.FormatInt(st.rows, 10),
		AttrDuplicateKeys: strconv.FormatInt(st.duplicateKeys, 10),
		AttrDelimiter:     string(p.delim),
	}, nil
}
