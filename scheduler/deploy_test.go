package scheduler

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectplus/connectplus/runstate"
)

// silentServer accepts TCP connections on loopback and never answers: an
// SSH client connecting to it waits for its connect timeout.
type silentServer struct {
	ln       net.Listener
	mu       sync.Mutex
	conns    []net.Conn
	accepted chan struct{}
}

func newSilentServer(t *testing.T) *silentServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silentServer{ln: ln, accepted: make(chan struct{}, 64)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.accepted <- struct{}{}
		}
	}()
	return s
}

func (s *silentServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// close stops listening and drops every connection: clients fail at once.
func (s *silentServer) close() {
	s.ln.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

// within fails the test when fn does not return in time: a control call
// that waits for a deployment waits for the connect timeout (10 minutes
// here), so the bound only separates "at once" from "blocked".
func within(t *testing.T, what string, fn func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s waited for a deployment that cannot reach its server", what)
	}
}

// While a Live dataflow cannot reach its server, control calls on it and on
// every other dataflow return at once: deployments (which connect every
// block) run in the background, and the status shows their state.
func TestControlCallsDoNotWaitForADeployment(t *testing.T) {
	fx := newFixture(t)
	silent := newSilentServer(t)
	fx.repo.SetConfig("o1", "sftp_password", "pw")
	fx.repo.PutDeployment(runstate.Deployment{OrgID: "o1", FlowID: "stuck", FlowName: "stuck", VersionID: "s1", Version: 1, Status: runstate.StatusActive, TimeZone: "UTC",
		Document: []byte(fmt.Sprintf(`name: stuck
blocks:
  - type: sftp_read
    name: read
    config:
      hostname: 127.0.0.1
      port: %d
      username: u
      password: {$config: sftp_password}
      insecureAcceptAnyHostKey: true
      connectTimeout: 10m
      sourceDirectory: /in
      processedDirectory: /done
      apiErrorFilePath: /err
    relations: [conv]
  - type: rows
    name: conv
    relations: [post]
  - type: gate_sink
    name: post
`, silent.port()))})
	fx.deploy(1, "v1")
	fx.start()
	t.Cleanup(silent.close) // runs before the manager's cleanup waits for it
	select {
	case <-silent.accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("the stuck flow never tried to connect")
	}
	ctx := context.Background()
	within(t, "status of the connecting flow", func() error {
		st, err := fx.m.Status(ctx, "o1", "stuck")
		if err != nil || st.Deployment != runstate.DeployPending || st.LiveVersion != 1 {
			return fmt.Errorf("status %+v %v", st, err)
		}
		return nil
	})
	// The other flow works, and every control call returns at once.
	fx.file("a.csv", 6, "a")
	within(t, "run-now", func() error { return fx.m.RunNow(ctx, "o1", "f1") })
	fx.eventually("a.csv delivered", func() bool { return fx.delivered() == 6 })
	within(t, "pause", func() error { return fx.m.Pause(ctx, "o1", "f1") })
	within(t, "start", func() error { return fx.m.Start(ctx, "o1", "f1") })
	within(t, "pause of the connecting flow", func() error { return fx.m.Pause(ctx, "o1", "stuck") })
	within(t, "start of the connecting flow", func() error { return fx.m.Start(ctx, "o1", "stuck") })
	within(t, "make a new version live", func() error {
		fx.deploy(2, "v2")
		return fx.m.Reload(ctx)
	})
	fx.eventually("v2 deployed", func() bool {
		st, _ := fx.m.Status(ctx, "o1", "f1")
		return st.LiveVersion == 2 && st.Deployment == runstate.DeployReady
	})
	fx.file("b.csv", 4, "b")
	within(t, "run-now on v2", func() error { return fx.m.RunNow(ctx, "o1", "f1") })
	fx.eventually("b.csv delivered by v2", func() bool { return fx.delivered() == 10 })

	// The server goes away: the deployment fails and the status says why.
	silent.close()
	fx.eventually("the failed deployment in the status", func() bool {
		st, _ := fx.m.Status(ctx, "o1", "stuck")
		return st.Deployment == runstate.DeployFailed && strings.Contains(st.DeployError, fmt.Sprintf("127.0.0.1:%d", silent.port()))
	})
}

// slowSource is a dirSource whose Start (a connection, for a real source)
// waits for gate.
type slowSource struct {
	dirSource
	gate chan struct{}
}

func (s *slowSource) Start(ctx context.Context) error {
	select {
	case <-s.gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A dataflow stopped while it is being deployed does not start when the
// deployment completes; started again, it is deployed anew and runs.
func TestStopDuringDeploymentDiscardsIt(t *testing.T) {
	fx := newFixture(t)
	fx.file("a.csv", 3, "a")
	fx.repo.PutDeployment(runstate.Deployment{OrgID: "o1", FlowID: "slow", FlowName: "slow", VersionID: "s1", Version: 1, Status: runstate.StatusActive, TimeZone: "UTC",
		Document: []byte(fmt.Sprintf("name: slow\nblocks:\n  - {type: slow_read, name: read, config: {sourceDirectory: %q}, relations: [conv]}\n  - {type: rows, name: conv, relations: [post]}\n  - {type: gate_sink, name: post}\n", fx.dir))})
	fx.start()
	ctx := context.Background()
	fx.eventually("deploying", func() bool {
		st, _ := fx.m.Status(ctx, "o1", "slow")
		return st.Deployment == runstate.DeployPending
	})
	within(t, "stop while deploying", func() error { return fx.m.Stop(ctx, "o1", "slow") })
	close(fx.slowGate) // the deployment completes, after Stop
	fx.eventually("the stopped flow stays undeployed", func() bool {
		st, _ := fx.m.Status(ctx, "o1", "slow")
		return st.Status == runstate.StatusStopped && st.Deployment == ""
	})
	time.Sleep(50 * time.Millisecond)
	if n := fx.slowLists.Load(); n != 0 || fx.delivered() != 0 {
		t.Fatalf("a flow stopped during its deployment polled %d times and delivered %d records", n, fx.delivered())
	}
	within(t, "start", func() error { return fx.m.Start(ctx, "o1", "slow") })
	within(t, "run-now", func() error { return fx.m.RunNow(ctx, "o1", "slow") })
	fx.eventually("a.csv delivered after start", func() bool { return fx.delivered() == 3 })
}
