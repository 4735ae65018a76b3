// Package memrepo is an in-memory runstate.Repo for tests and for
// `connectplus run`-style embedding without a database.
package memrepo

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/connectplus/connectplus/runstate"
)

// Repo is safe for concurrent use.
type Repo struct {
	mu      sync.Mutex
	deps    map[string]runstate.Deployment
	configs map[string]string // org/name → value
	claims  map[string]*claim
	runs    map[string]runstate.Run
	status  map[string]string
}

type claim struct {
	owner string
	done  bool
	cp    []byte
}

// New returns an empty repo.
func New() *Repo {
	return &Repo{deps: map[string]runstate.Deployment{}, configs: map[string]string{}, claims: map[string]*claim{}, runs: map[string]runstate.Run{}, status: map[string]string{}}
}

// PutDeployment adds or replaces a Live deployment (what "make live" does).
func (r *Repo) PutDeployment(d runstate.Deployment) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.status[d.Key()]; ok && d.Status == "" {
		d.Status = s
	}
	r.deps[d.Key()] = d
}

// RemoveDeployment takes a dataflow out of Live (deactivate).
func (r *Repo) RemoveDeployment(orgID, flowID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.deps, orgID+"/"+flowID)
}

// SetConfig sets an Extension Configuration value.
func (r *Repo) SetConfig(orgID, name, value string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.configs[orgID+"/"+name] = value
}

func (r *Repo) LiveDeployments(context.Context) ([]runstate.Deployment, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]runstate.Deployment, 0, len(r.deps))
	for _, d := range r.deps {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out, nil
}

func (r *Repo) ResolveConfig(_ context.Context, orgID, name string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.configs[orgID+"/"+name]
	if !ok {
		return "", fmt.Errorf("extension configuration %q: %w", name, runstate.ErrNotFound)
	}
	return v, nil
}

func (r *Repo) ClaimItem(_ context.Context, flowKey, itemKey, owner string) ([]byte, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := flowKey + "\x00" + itemKey
	c, ok := r.claims[k]
	if ok && (c.done || (c.owner != "" && c.owner != owner)) {
		return nil, false, nil
	}
	if !ok {
		c = &claim{}
		r.claims[k] = c
	}
	c.owner = owner
	return append([]byte(nil), c.cp...), true, nil
}

func (r *Repo) SaveCheckpoint(_ context.Context, flowKey, itemKey, owner string, cp []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := flowKey + "\x00" + itemKey
	c, ok := r.claims[k]
	if !ok {
		c = &claim{}
		r.claims[k] = c
	}
	c.owner, c.cp = owner, append([]byte(nil), cp...)
	return nil
}

func (r *Repo) CompleteItem(_ context.Context, flowKey, itemKey string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.claims[flowKey+"\x00"+itemKey] = &claim{done: true}
	return nil
}

func (r *Repo) ReleaseItem(_ context.Context, flowKey, itemKey string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.claims[flowKey+"\x00"+itemKey]; ok {
		c.owner = ""
	}
	return nil
}

func (r *Repo) ReleaseOwner(_ context.Context, owner string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.claims {
		if c.owner == owner {
			c.owner = ""
		}
	}
	return nil
}

func (r *Repo) UpsertRun(_ context.Context, run runstate.Run) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs[run.OrgID+"/"+run.ID] = run
	return nil
}

func (r *Repo) GetRun(_ context.Context, orgID, id string) (runstate.Run, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	run, ok := r.runs[orgID+"/"+id]
	if !ok {
		return runstate.Run{}, runstate.ErrNotFound
	}
	return run, nil
}

func (r *Repo) ListRuns(_ context.Context, f runstate.RunFilter) ([]runstate.Run, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []runstate.Run
	for _, run := range r.runs {
		if (f.OrgID != "" && run.OrgID != f.OrgID) || (f.FlowID != "" && run.FlowID != f.FlowID) || (f.Status != "" && run.Status != f.Status) {
			continue
		}
		if (!f.Since.IsZero() && run.Started.Before(f.Since)) || (!f.Until.IsZero() && run.Started.After(f.Until)) {
			continue
		}
		out = append(out, run)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.After(out[j].Started) })
	if f.Offset > 0 {
		if f.Offset >= len(out) {
			return nil, nil
		}
		out = out[f.Offset:]
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

func (r *Repo) PurgeRuns(_ context.Context, before time.Time) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for k, run := range r.runs {
		if run.Started.Before(before) {
			delete(r.runs, k)
			n++
		}
	}
	return n, nil
}

func (r *Repo) SetFlowStatus(_ context.Context, orgID, flowID, status string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := orgID + "/" + flowID
	r.status[k] = status
	if d, ok := r.deps[k]; ok {
		d.Status = status
		r.deps[k] = d
	}
	return nil
}

var _ runstate.Repo = (*Repo)(nil)
