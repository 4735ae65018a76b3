// Package testenv starts real servers (OpenSSH sshd, pyftpdlib, versitygw,
// PostgreSQL) and a throwaway GnuPG home for tests, and drives kcat (an
// independent Kafka client) against the brokers tests start.
//
// Every server listens on a free 127.0.0.1 port, runs in its own process
// group and is stopped (together with any child it forked) by t.Cleanup.
// Start-up waits are bounded; on timeout the test fails with the tail of the
// server's log. The PostgreSQL server is shared by all tests of one test
// binary; call Shutdown (or use Main) from TestMain to stop it.
//
// When a required program is missing the test is skipped, unless the
// environment has CI=true, in which case it fails: in CI a missing server is
// an installation bug (see .ci/install-deps.sh).
package testenv

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StartTimeout bounds how long a server may take to accept connections.
// It can be raised with TESTENV_START_TIMEOUT (a Go duration, e.g. "90s").
var StartTimeout = 30 * time.Second

// stopTimeout bounds how long a server may take to exit after SIGTERM
// before it is killed.
const stopTimeout = 5 * time.Second

func init() {
	if v := os.Getenv("TESTENV_START_TIMEOUT"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			StartTimeout = d
		}
	}
}

// InCI reports whether the CI environment variable says we run in CI, in
// which case missing prerequisites fail tests instead of skipping them.
func InCI() bool {
	switch strings.ToLower(os.Getenv("CI")) {
	case "true", "1", "yes":
		return true
	}
	return false
}

// unmet reports a missing prerequisite: t.Skip locally, t.Fatal in CI.
// This is the only place where testenv skips a test.
func unmet(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("testenv: %s (CI=true, so this is a failure; run .ci/install-deps.sh)", msg)
		return
	}
	t.Skipf("testenv: %s (install with .ci/install-deps.sh; with CI=true this fails instead)", msg)
}

// requireBinary makes sure path is an executable file. When it is not, the
// test is skipped, or fails when CI=true.
func requireBinary(t testing.TB, path string) {
	t.Helper()
	if err := checkExecutable(path); err != nil {
		unmet(t, "required program %s is not available: %v", path, err)
	}
}

// requireRoot makes sure the test process runs as root (needed to run sshd
// with password authentication and to run programs as other users).
func requireRoot(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() != 0 {
		unmet(t, "%s needs to run as root (euid is %d)", what, os.Geteuid())
	}
}

func checkExecutable(path string) error {
	if path == "" {
		return errors.New("empty path")
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not executable", path)
	}
	return nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// makeTempDir creates a fresh directory under os.TempDir with a short name
// (socket paths have a length limit) and mode perm. See makeOwnedDir.
func makeTempDir(prefix string, perm os.FileMode) (string, error) {
	return makeOwnedDir(os.TempDir(), prefix, perm)
}

// ownerFile, inside every directory testenv creates, names the test process
// that owns it ("PID STARTTIME"), so that directories (and gpg-agents)
// left by a test binary that died without running its cleanups (a -timeout
// panic, SIGKILL) are removed by the next test binary that uses testenv.
const ownerFile = ".testenv-owner"

// makeOwnedDir creates a fresh directory in parent named prefix+random,
// with mode perm and an owner file, after sweeping stale directories with
// the same prefix.
func makeOwnedDir(parent, prefix string, perm os.FileMode) (string, error) {
	sweepStale(parent, prefix)
	dir, err := os.MkdirTemp(parent, prefix)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(selfTag()), 0o644); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	if err := os.Chmod(dir, perm); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// procStartTime returns the start time of pid (field 22 of /proc/PID/stat).
func procStartTime(pid int) (string, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", false
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 20 {
		return "", false
	}
	return f[19], true
}

func selfTag() string {
	st, _ := procStartTime(os.Getpid())
	return fmt.Sprintf("%d %s", os.Getpid(), st)
}

// ownerAlive reports whether the process named in dir's owner file runs.
// A directory without an owner file counts as owned for a minute (it may
// be in the middle of being created).
func ownerAlive(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		fi, serr := os.Stat(dir)
		return serr == nil && time.Since(fi.ModTime()) < time.Minute
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return false
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil {
		return false
	}
	st, ok := procStartTime(pid)
	return ok && st == f[1]
}

var (
	sweepMu   sync.Mutex
	sweptDirs = map[string]bool{}
	// staleHooks run before a stale directory with the given prefix is
	// removed (the GnuPG home stops its agent).
	staleHooks = map[string]func(dir string){}
)

// sweepStale removes, once per process and prefix, directories in parent
// whose owning test process is gone.
func sweepStale(parent, prefix string) {
	sweepMu.Lock()
	key := filepath.Join(parent, prefix)
	if sweptDirs[key] {
		sweepMu.Unlock()
		return
	}
	sweptDirs[key] = true
	hook := staleHooks[prefix]
	sweepMu.Unlock()

	matches, _ := filepath.Glob(filepath.Join(parent, prefix+"*"))
	for _, dir := range matches {
		if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() || ownerAlive(dir) {
			continue
		}
		if hook != nil {
			hook(dir)
		}
		os.RemoveAll(dir)
	}
}

// process is a server started by testenv.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	stopSig syscall.Signal
	done    chan struct{}
	waitErr error
	stopped sync.Once
}

// procSpec describes how to start a server process.
type procSpec struct {
	name    string   // for messages, e.g. "sshd"
	path    string   // executable
	args    []string // arguments
	env     []string // extra environment (appended to a minimal base)
	dir     string   // working directory
	logPath string   // stdout+stderr go here
	cred    *syscall.Credential
	// pdeathsig is sent to the server when the test binary dies without
	// running its cleanups. Defaults to SIGKILL.
	pdeathsig syscall.Signal
	// stopSig asks the server to shut down cleanly. Defaults to SIGTERM.
	stopSig syscall.Signal
}

// baseEnv is the environment every server starts with: enough to run, and
// nothing from the test process that could change a server's behaviour.
func baseEnv() []string {
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "LC_ALL=C.UTF-8"}
	for _, k := range []string{"TMPDIR", "TZ"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func startProcess(spec procSpec) (*process, error) {
	logFile, err := os.OpenFile(spec.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s log: %w", spec.name, err)
	}
	cmd := exec.Command(spec.path, spec.args...)
	cmd.Env = append(baseEnv(), spec.env...)
	cmd.Dir = spec.dir
	cmd.Stdin = nil
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	sig := spec.pdeathsig
	if sig == 0 {
		sig = syscall.SIGKILL
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: sig, Credential: spec.cred}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s (%s): %w", spec.name, spec.path, err)
	}
	stopSig := spec.stopSig
	if stopSig == 0 {
		stopSig = syscall.SIGTERM
	}
	p := &process{name: spec.name, cmd: cmd, logPath: spec.logPath, logFile: logFile, stopSig: stopSig, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// logTail returns the last lines of the process log.
func (p *process) logTail() string {
	return fileTail(p.logPath, 40)
}

func fileTail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	b = bytes.TrimRight(b, "\n")
	if len(b) == 0 {
		return "(log is empty)"
	}
	parts := strings.Split(string(b), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// errPortBusy means the server could not bind its port (another process
// took it between freePort and the server's bind); the caller retries.
var errPortBusy = errors.New("port already in use")

// waitTCP waits until addr accepts TCP connections while p is running.
func (p *process) waitTCP(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if p.exited() {
			tail := p.logTail()
			if looksLikePortBusy(tail) {
				return fmt.Errorf("%s: %w: %s", p.name, errPortBusy, addr)
			}
			return fmt.Errorf("%s exited before accepting connections on %s (%v); log tail:\n%s", p.name, addr, p.waitErr, tail)
		}
		c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
		if err == nil {
			c.Close()
			// A process that failed to bind exits almost at once; give it a
			// moment so that a port taken by someone else is not mistaken
			// for ours.
			select {
			case <-p.done:
				continue
			case <-time.After(20 * time.Millisecond):
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not accept connections on %s within %v (last error: %v); log tail:\n%s", p.name, addr, timeout, err, p.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func looksLikePortBusy(log string) bool {
	l := strings.ToLower(log)
	return strings.Contains(l, "address already in use") || strings.Contains(l, "cannot bind any address") || strings.Contains(l, "could not bind")
}

// stop asks the server to exit (stopSig to the leader), waits up to
// stopTimeout, then SIGKILLs its process group and every descendant,
// including ones that moved to their own session (such as sshd's
// per-connection children). It is safe to call more than once.
func (p *process) stop() {
	p.stopped.Do(func() {
		pid := p.cmd.Process.Pid
		desc := descendants(pid)
		if !p.exited() {
			_ = syscall.Kill(pid, p.stopSig)
			select {
			case <-p.done:
			case <-time.After(stopTimeout):
			}
		}
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		for _, d := range desc {
			_ = syscall.Kill(d, syscall.SIGKILL)
		}
		if !p.exited() {
			select {
			case <-p.done:
			case <-time.After(stopTimeout):
			}
		}
	})
}

// descendants lists the pids of all descendants of pid, read from /proc.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Format: pid (comm) state ppid ...; comm may contain spaces.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		ppid, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		children[ppid] = append(children[ppid], n)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, c := range children[cur] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// startWithRetry starts a server on a free port, retrying with a new port
// when the chosen one was taken in the meantime. start must return the
// process and the address to wait for.
func startWithRetry(name string, start func(port int) (*process, string, error)) (*process, int, error) {
	var lastErr error
	for attempt := 0; attempt < 4; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, 0, fmt.Errorf("%s: find free port: %w", name, err)
		}
		p, addr, err := start(port)
		if err != nil {
			return nil, 0, err
		}
		err = p.waitTCP(addr, StartTimeout)
		if err == nil {
			return p, port, nil
		}
		p.stop()
		lastErr = err
		if !errors.Is(err, errPortBusy) {
			return nil, 0, err
		}
	}
	return nil, 0, lastErr
}

// firstExisting returns the first candidate that is an executable file, or
// the first candidate when none is (so error messages name a sensible path).
func firstExisting(candidates ...string) string {
	for _, c := range candidates {
		if c != "" && checkExecutable(c) == nil {
			return c
		}
	}
	for _, c := range candidates {
		if c != "" {
			return c
		}
	}
	return ""
}

// sanitizeName turns a test name into something usable in file and
// database names.
func sanitizeName(s string, max int) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= max {
			break
		}
	}
	return b.String()
}
