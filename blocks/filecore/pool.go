package filecore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Dialer opens a connection to the server.
type Dialer func(ctx context.Context) (FS, error)

// Retry says how often and how patiently network operations are retried.
type Retry struct {
	Attempts int           // total attempts, at least 1
	Backoff  time.Duration // first pause; doubled after each failure
	Max      time.Duration // cap on one pause
}

// DefaultRetry retries a network failure three times over about 3.5 s:
// long enough to ride out a dropped connection, short enough that an
// unreachable host is reported within a poll.
var DefaultRetry = Retry{Attempts: 4, Backoff: 500 * time.Millisecond, Max: 10 * time.Second}

// Pool holds the one connection a block instance uses during a run and
// reconnects when it breaks. Operations on the connection are not
// serialised: FS implementations are safe for concurrent use (SFTP
// multiplexes requests; the FTP FS opens a data connection per transfer).
type Pool struct {
	dial  Dialer
	retry Retry
	log   *slog.Logger

	mu   sync.Mutex
	fs   FS
	gen  int // bumped at every reconnect
	desc string
}

// NewPool makes a pool around dial.
func NewPool(dial Dialer, retry Retry, log *slog.Logger) *Pool {
	if retry.Attempts < 1 {
		retry.Attempts = 1
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Pool{dial: dial, retry: retry, log: log}
}

// Get returns the live connection, dialling when there is none.
func (p *Pool) Get(ctx context.Context) (FS, int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fs != nil {
		return p.fs, p.gen, nil
	}
	fs, err := p.dial(ctx)
	if err != nil {
		return nil, 0, err
	}
	p.fs = fs
	p.gen++
	if d, ok := fs.(Describer); ok {
		p.desc = d.Describe()
	}
	return fs, p.gen, nil
}

// Describe names the server (empty before the first connection).
func (p *Pool) Describe() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.desc
}

// drop closes the connection of generation gen, if it is still current, so
// the next Get reconnects.
func (p *Pool) drop(gen int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fs != nil && p.gen == gen {
		p.fs.Close()
		p.fs = nil
	}
}

// Do runs op on the connection, reconnecting and retrying with backoff when
// op (or dialling) fails with a transient network error. Permanent errors
// (authentication, missing file, permission) are returned at once.
func (p *Pool) Do(ctx context.Context, what string, op func(FS) error) error {
	pause := p.retry.Backoff
	var err error
	for attempt := 1; ; attempt++ {
		var fs FS
		var gen int
		fs, gen, err = p.Get(ctx)
		if err == nil {
			err = op(fs)
			if err != nil && IsTransient(err) {
				p.drop(gen)
			}
		}
		if err == nil || !IsTransient(err) || attempt >= p.retry.Attempts || ctx.Err() != nil {
			break
		}
		p.log.Warn("file connector: network error, retrying", "op", what, "attempt", attempt, "error", err.Error())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		if pause *= 2; p.retry.Max > 0 && pause > p.retry.Max {
			pause = p.retry.Max
		}
	}
	return err
}

// Close closes the connection.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fs == nil {
		return nil
	}
	err := p.fs.Close()
	p.fs = nil
	return err
}

// transientError marks an error as worth a reconnect and retry.
type transientError struct{ err error }

func (e transientError) Error() string { return e.err.Error() }
func (e transientError) Unwrap() error { return e.err }

// permanentError marks an error as not worth retrying even though it wraps
// a network error (e.g. an SSH handshake refused by the server).
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Transient marks err as a network failure that a reconnect may cure.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return transientError{err}
}

// Permanent marks err as final: no retry.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsTransient reports whether err looks like a broken or refused network
// connection rather than an answer from the server.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var pe permanentError
	if errors.As(err, &pe) {
		return false
	}
	var te transientError
	if errors.As(err, &te) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ETIMEDOUT) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	// syscall.Errno also implements net.Error, so local file errors
	// (ENOENT, EACCES) must not be classified by that interface: only real
	// network operations and timeouts count.
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "connection lost") || strings.Contains(msg, "use of closed network connection")
}

// describeErr prefixes err with the server description.
func describeErr(p *Pool, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	if d := p.Describe(); d != "" {
		return fmt.Errorf("%s: %w", d, err)
	}
	return err
}
