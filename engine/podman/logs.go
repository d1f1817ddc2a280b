package podman

import (
	"context"
	"io"
	"strconv"

	"github.com/containers/podman/v5/pkg/bindings/containers"
)

// Logs writes the container's stdout and stderr, interleaved as Podman
// recorded them, to w: the last tail lines (all if tail < 0), then, with
// follow, new lines until ctx ends or the container stops. A follow ended
// by ctx returns nil: that is how a follow is meant to end.
func (p *Podman) Logs(ctx context.Context, name string, tail int, follow bool, w io.Writer) error {
	callCtx, cancel := p.call(ctx)
	defer cancel()
	t := "all"
	if tail >= 0 {
		t = strconv.Itoa(tail)
	}
	opts := new(containers.LogOptions).WithStdout(true).WithStderr(true).WithFollow(follow).WithTail(t)

	// One channel for both streams keeps Podman's order. The bindings send
	// every frame on it and return only after the last send, so once done
	// is closed nothing is pending.
	frames := make(chan string)
	done := make(chan error, 1)
	go func() { done <- containers.Logs(callCtx, name, opts, frames, frames) }()
	var writeErr error
	for {
		var line string
		select {
		case line = <-frames:
		case err := <-done:
			if writeErr != nil {
				return wrap(writeErr, "writing logs of container %s", name)
			}
			if err != nil && follow && ctx.Err() != nil {
				return nil
			}
			return wrap(err, "reading logs of container %s", name)
		}
		if writeErr != nil {
			continue // draining until the bindings give up
		}
		if _, writeErr = io.WriteString(w, line); writeErr != nil {
			cancel()
		}
	}
}
