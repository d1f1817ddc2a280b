package podman

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/containers/podman/v5/pkg/api/handlers"
	"github.com/containers/podman/v5/pkg/bindings"
	"github.com/containers/podman/v5/pkg/bindings/containers"
	dockerContainer "github.com/docker/docker/api/types/container"
)

// execExitWait bounds how long Exec waits for Podman to record the exit
// code once the command's output has ended.
const execExitWait = 5 * time.Second

// Exec runs cmd in a running container, without a terminal or stdin, and
// returns its exit code. Its stdout and stderr go to out (nil: discarded).
func (p *Podman) Exec(ctx context.Context, name string, cmd []string, out io.Writer) (int, error) {
	if out == nil {
		out = io.Discard
	}
	return p.exec(ctx, name, cmd, out)
}

// exec is Exec with the command's stdout and stderr written to out.
func (p *Podman) exec(ctx context.Context, name string, cmd []string, out io.Writer) (int, error) {
	if len(cmd) == 0 {
		return -1, fmt.Errorf("exec in container %s: no command", name)
	}
	ctx, cancel := p.call(ctx)
	defer cancel()
	ctx, closeConn, err := p.execConn(ctx)
	if err != nil {
		return -1, fmt.Errorf("exec in container %s: %w", name, err)
	}
	defer closeConn()
	id, err := containers.ExecCreate(ctx, name, &handlers.ExecCreateConfig{
		ExecOptions: dockerContainer.ExecOptions{
			Cmd:          cmd,
			AttachStdout: true,
			AttachStderr: true,
		},
	})
	if err != nil {
		return -1, wrap(err, "exec in container %s", name)
	}
	// One loop in the bindings writes both streams: out needs no lock.
	opts := new(containers.ExecStartAndAttachOptions).
		WithOutputStream(out).WithErrorStream(out).
		WithAttachOutput(true).WithAttachError(true)
	if err := containers.ExecStartAndAttach(ctx, id, opts); err != nil {
		return -1, wrap(err, "exec in container %s", name)
	}
	// The attach ends when the output does, which can be a moment before
	// Podman has recorded the exit code.
	deadline := time.Now().Add(execExitWait)
	for {
		info, err := containers.ExecInspect(ctx, id, nil)
		if err != nil {
			return -1, wrap(err, "exec in container %s: inspecting session", name)
		}
		if !info.Running {
			return info.ExitCode, nil
		}
		if time.Now().After(deadline) {
			return -1, fmt.Errorf("exec in container %s: %s still running %v after its output ended", name, strconv.Quote(cmd[0]), execExitWait)
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("exec in container %s: %w", name, context.Cause(ctx))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// execConn returns a context holding a connection of its own, derived from
// ctx (itself from the main connection), and a func that closes it.
//
// ExecStartAndAttach hijacks its connection's HTTP client: it replaces the
// client's transport with a new one wrapping the old (and never puts the
// old one back). On the shared connection that would be a data race with
// concurrent calls, leak the replaced transports' idle connections, and
// nest one more dial wrapper per exec for the daemon's lifetime. A
// connection per exec costs one ping.
func (p *Podman) execConn(ctx context.Context) (context.Context, func(), error) {
	ctx, err := bindings.NewConnection(ctx, p.url)
	if err != nil {
		return nil, nil, fmt.Errorf("connecting for exec: %w", err)
	}
	conn, err := bindings.GetClient(ctx)
	if err != nil {
		return nil, nil, err
	}
	orig := conn.Client.Transport
	return ctx, func() {
		conn.Client.CloseIdleConnections()
		if t, ok := orig.(interface{ CloseIdleConnections() }); ok {
			t.CloseIdleConnections()
		}
	}, nil
}
