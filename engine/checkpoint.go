package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/connectplus/connectplus/block"
)

// Checkpoint is the durable progress of one lineage (one source file).
// Acknowledged records are those at or below Watermark plus those in Done:
// after a restart they are skipped, never sent again.
type Checkpoint struct {
	LineageID string            `json:"lineageId"`
	Item      block.Item        `json:"item"`
	Watermark int64             `json:"watermark"`
	Done      []int64           `json:"done,omitempty"`
	States    map[string][]byte `json:"states,omitempty"`
	// SpoolSize is how many bytes of the result spool belong to acknowledged records.
	SpoolSize int64 `json:"spoolSize"`
	// Spool fingerprints those bytes, so a resumed run continues the spool
	// only if it is the one this checkpoint describes (nil in checkpoints
	// written before it existed: then only the size is checked).
	Spool *SpoolCheck `json:"spool,omitempty"`
	// Held are result rows of acknowledged records still waiting for an
	// earlier record, to keep the spool in source order.
	Held   []HeldRow      `json:"held,omitempty"`
	Counts block.Outcomes `json:"counts"`
	// StatusCodes counts terminal records by status code.
	StatusCodes map[int]int64 `json:"statusCodes,omitempty"`
	// Errors and Warnings carry LineageResult's error summary across a
	// resume (absent in checkpoints written before they existed).
	Errors   []ErrorCount `json:"errors,omitempty"`
	Warnings int64        `json:"warnings,omitempty"`
	Header   []string     `json:"header,omitempty"`
	Started  time.Time    `json:"started"`
	// Interruptions counts how many times the lineage was resumed.
	Interruptions int `json:"interruptions"`
	// Completing is set by the checkpoint saved once every record is
	// terminal, before the blocks end the lineage (a file destination
	// publishes its output then): a run resuming it sends nothing again and
	// does not read the file; it only finishes the lineage. Error is the
	// reason the lineage failed as a whole, if it did.
	Completing bool   `json:"completing,omitempty"`
	Error      string `json:"error,omitempty"`
	// Ended is set once every block ended the lineage without error: a run
	// resuming it only writes the result file and completes the claim.
	Ended bool `json:"ended,omitempty"`
}

// SpoolCheck fingerprints the acknowledged prefix of a lineage's result
// spool and of its (line, offset) index.
type SpoolCheck struct {
	// CRC32C is the Castagnoli CRC-32 of the spool's first SpoolSize bytes.
	CRC32C uint32 `json:"crc32c"`
	// Rows is how many index entries (result rows) those bytes hold, and
	// IndexCRC32C the CRC-32C of those entries.
	Rows        int64  `json:"rows"`
	IndexCRC32C uint32 `json:"indexCrc32c"`
	// HeaderBytes is how many of those bytes, at the start, are the
	// result file's header rather than rows (0 in spools begun before the
	// header was written there).
	HeaderBytes int64 `json:"headerBytes,omitempty"`
}

// Checkpointer persists claims and checkpoints. The runtime implements it
// over the store; the CLI uses the file-backed one; tests use the in-memory one.
type Checkpointer interface {
	// Claim takes item for this process. It returns the checkpoint to resume
	// from (nil for a fresh start), or ok=false when the item is already
	// done or claimed by another live worker.
	Claim(ctx context.Context, flow string, it block.Item) (cp *Checkpoint, ok bool, err error)
	// Save records progress.
	Save(ctx context.Context, flow string, cp *Checkpoint) error
	// Complete marks the item done: it is never claimed again.
	Complete(ctx context.Context, flow string, it block.Item) error
	// Release gives up a claim without completing (stop): the item can be
	// claimed again and resumes from its last checkpoint.
	Release(ctx context.Context, flow string, it block.Item) error
}

// ItemKey identifies an item version: the same path re-uploaded with another
// size or modification time is a new input.
func ItemKey(it block.Item) string {
	return it.Key + "|" + strconv.FormatInt(it.Size, 10) + "|" + strconv.FormatInt(it.ModTime.UnixNano(), 10)
}

// MemoryCheckpointer keeps everything in memory (tests, one-off runs).
type MemoryCheckpointer struct {
	mu     sync.Mutex
	cps    map[string]*Checkpoint
	done   map[string]bool
	claims map[string]bool
}

// NewMemoryCheckpointer returns an empty in-memory checkpointer.
func NewMemoryCheckpointer() *MemoryCheckpointer {
	return &MemoryCheckpointer{cps: map[string]*Checkpoint{}, done: map[string]bool{}, claims: map[string]bool{}}
}

func (m *MemoryCheckpointer) Claim(_ context.Context, flow string, it block.Item) (*Checkpoint, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := flow + "\x00" + ItemKey(it)
	if m.done[k] || m.claims[k] {
		return nil, false, nil
	}
	m.claims[k] = true
	if cp, ok := m.cps[k]; ok {
		c := *cp
		return &c, true, nil
	}
	return nil, true, nil
}

func (m *MemoryCheckpointer) Save(_ context.Context, flow string, cp *Checkpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *cp
	m.cps[flow+"\x00"+ItemKey(cp.Item)] = &c
	return nil
}

func (m *MemoryCheckpointer) Complete(_ context.Context, flow string, it block.Item) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := flow + "\x00" + ItemKey(it)
	m.done[k] = true
	delete(m.claims, k)
	delete(m.cps, k)
	return nil
}

func (m *MemoryCheckpointer) Release(_ context.Context, flow string, it block.Item) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.claims, flow+"\x00"+ItemKey(it))
	return nil
}

// FileCheckpointer keeps claims and checkpoints as small JSON files in a
// directory, written atomically (temp file, fsync, rename). A claim records
// the owning process id; a claim whose process is gone is taken over, which
// is how a run killed with SIGKILL resumes.
type FileCheckpointer struct {
	Dir string
	// ForgetCompleted removes a completed item's record instead of marking
	// it done, so the same input can be processed again (explicit --input
	// runs); interrupted items still resume.
	ForgetCompleted bool
	mu              sync.Mutex
}

// NewFileCheckpointer uses dir (created if missing).
func NewFileCheckpointer(dir string) (*FileCheckpointer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("checkpoint dir: %w", err)
	}
	return &FileCheckpointer{Dir: dir}, nil
}

type fileClaim struct {
	PID        int         `json:"pid"`
	Done       bool        `json:"done"`
	Checkpoint *Checkpoint `json:"checkpoint,omitempty"`
	Updated    time.Time   `json:"updated"`
}

func (f *FileCheckpointer) path(flow string, it block.Item) string {
	h := sha256.Sum256([]byte(flow + "\x00" + ItemKey(it)))
	return filepath.Join(f.Dir, hex.EncodeToString(h[:12])+".json")
}

func (f *FileCheckpointer) read(p string) (*fileClaim, error) {
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c fileClaim
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("corrupt checkpoint %s: %w", p, err)
	}
	return &c, nil
}

func (f *FileCheckpointer) write(p string, c *fileClaim) error {
	c.Updated = time.Now().UTC()
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	tmp := p + ".tmp"
	fh, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := fh.Write(b); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if pid == os.Getpid() {
		return true
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func (f *FileCheckpointer) Claim(_ context.Context, flow string, it block.Item) (*Checkpoint, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.path(flow, it)
	c, err := f.read(p)
	if err != nil {
		return nil, false, err
	}
	if c != nil && (c.Done || (c.PID != 0 && processAlive(c.PID))) {
		return nil, false, nil
	}
	var cp *Checkpoint
	if c != nil {
		cp = c.Checkpoint
	}
	if err := f.write(p, &fileClaim{PID: os.Getpid(), Checkpoint: cp}); err != nil {
		return nil, false, fmt.Errorf("claim %s: %w", it.Key, err)
	}
	return cp, true, nil
}

func (f *FileCheckpointer) Save(_ context.Context, flow string, cp *Checkpoint) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.write(f.path(flow, cp.Item), &fileClaim{PID: os.Getpid(), Checkpoint: cp}); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}

func (f *FileCheckpointer) Complete(_ context.Context, flow string, it block.Item) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ForgetCompleted {
		err := os.Remove(f.path(flow, it))
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	return f.write(f.path(flow, it), &fileClaim{Done: true})
}

func (f *FileCheckpointer) Release(_ context.Context, flow string, it block.Item) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.path(flow, it)
	c, err := f.read(p)
	if err != nil || c == nil {
		return err
	}
	c.PID = 0
	return f.write(p, c)
}
