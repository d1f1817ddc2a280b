package podman

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containers/podman/v5/pkg/bindings"

	"archy.dev/archy/engine"
	"archy.dev/archy/schema"
)

// TestCallerContext: the caller's context bounds every call although the
// calls run on the connection's context.
func TestCallerContext(t *testing.T) {
	env, p := connect(t)

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Snapshot(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("Snapshot with a cancelled context: %v, want context.Canceled", err)
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := p.Inspect(expired, "anything"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Inspect with an expired context: %v, want context.DeadlineExceeded", err)
	}
	// A context without the connection in it works: the calls derive theirs
	// from the connection.
	if _, err := p.Snapshot(context.Background()); err != nil {
		t.Errorf("Snapshot with context.Background: %v", err)
	}
	if _, err := New(cancelled, env.URL); err == nil {
		t.Error("New with a cancelled context succeeded")
	}
	if _, err := New(context.Background(), "unix:///nonexistent/podman.sock"); err == nil {
		t.Error("New with a socket that does not exist succeeded")
	}
}

// TestConcurrentExec: execs run alongside other calls on one Podman (as the
// engine does, app levels in parallel) without touching the shared
// connection. Run with -race to see the bindings' hijack if it leaked back.
func TestConcurrentExec(t *testing.T) {
	env, p := connect(t)
	ctx := env.Context(t)
	buildWeb(ctx, t, p, nil)
	const name = "archy-concurrent"
	run(ctx, t, p, engine.ContainerSpec{Name: name, Image: webTag, ContainerConfig: schema.ContainerConfig{Command: sleeper}})

	conn, err := bindings.GetClient(p.conn)
	if err != nil {
		t.Fatal(err)
	}
	transport := conn.Client.Transport

	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 8 {
		wg.Go(func() {
			for j := range 3 {
				code, err := p.Exec(ctx, name, []string{busybox, "sh", "-c", fmt.Sprintf("exit %d", i+j)}, nil)
				if err != nil || code != i+j {
					errs <- fmt.Errorf("exec %d/%d: exit %d, %v; want exit %d", i, j, code, err, i+j)
				}
			}
		})
		wg.Go(func() {
			if _, err := p.Snapshot(ctx); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if conn.Client.Transport != transport {
		t.Errorf("exec replaced the shared connection's transport (%T)", conn.Client.Transport)
	}
	var out strings.Builder
	if err := p.Logs(ctx, name, -1, false, &out); err != nil {
		t.Errorf("Logs after the execs: %v", err)
	}
}
