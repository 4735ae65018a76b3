package block

import (
	"fmt"
	"os"
	"sync"
)

// Spills tracks the temporary files a block writes for each lineage (sorted
// groups, decrypted plaintext, joined outputs, merged bins), so they are
// removed once every unit descended from the source file is terminal
// (EndLineage) or the block closes. The zero value is ready to use; Dir is
// where Create puts new files (the block's Env.WorkDir).
type Spills struct {
	Dir string
	mu  sync.Mutex
	by  map[string][]string
}

// Create makes a temporary file in Dir (os.CreateTemp pattern) owned by
// lineage.
func (s *Spills) Create(lineage, pattern string) (*os.File, error) {
	f, err := os.CreateTemp(s.Dir, pattern)
	if err != nil {
		return nil, fmt.Errorf("create spill file: %w", err)
	}
	s.Add(lineage, f.Name())
	return f, nil
}

// Add hands paths created elsewhere to lineage.
func (s *Spills) Add(lineage string, paths ...string) {
	s.mu.Lock()
	if s.by == nil {
		s.by = map[string][]string{}
	}
	s.by[lineage] = append(s.by[lineage], paths...)
	s.mu.Unlock()
}

// Release removes lineage's files. Removal errors are ignored: the files
// live in the work directory, which the run removes as a whole.
func (s *Spills) Release(lineage string) {
	s.mu.Lock()
	paths := s.by[lineage]
	delete(s.by, lineage)
	s.mu.Unlock()
	for _, p := range paths {
		os.Remove(p)
	}
}

// ReleaseAll removes every file still tracked.
func (s *Spills) ReleaseAll() {
	s.mu.Lock()
	all := s.by
	s.by = nil
	s.mu.Unlock()
	for _, ps := range all {
		for _, p := range ps {
			os.Remove(p)
		}
	}
}

// LineageID is the lineage u belongs to: the engine's handle when set, else
// the lineage.id attribute (units built outside the engine, in tests).
func (u *Unit) LineageID() string {
	if u.Lineage != nil {
		return u.Lineage.ID()
	}
	return u.Attrs[AttrLineageID]
}
