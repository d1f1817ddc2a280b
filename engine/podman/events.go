package podman

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/containers/podman/v5/pkg/bindings/system"
	"github.com/containers/podman/v5/pkg/domain/entities/types"

	"archy.dev/archy/engine"
)

// Events streams container events. The bindings close their channel
// silently when the stream breaks (Podman restarted, socket gone): that is
// reported on the error channel as a disconnect, so the caller can
// reconnect, resubscribe and relist.
func (p *Podman) Events(ctx context.Context, since time.Time) (<-chan engine.ContainerEvent, <-chan error) {
	out := make(chan engine.ContainerEvent, 64)
	errc := make(chan error, 1)
	cctx, cancel := p.call(ctx)
	raw := make(chan types.Event, 64)
	stop := make(chan bool)
	opts := new(system.EventsOptions).WithStream(true).WithFilters(map[string][]string{"type": {"container"}})
	if !since.IsZero() {
		opts.WithSince(strconv.FormatInt(since.Unix(), 10))
	}
	go func() {
		defer cancel()
		defer close(out)
		if err := system.Events(cctx, raw, stop, opts); err != nil {
			errc <- wrap(err, "subscribing to podman events")
			return
		}
		for {
			select {
			case <-ctx.Done():
				close(stop)
				errc <- nil
				return
			case e, ok := <-raw:
				if !ok {
					if ctx.Err() != nil {
						errc <- nil
					} else {
						errc <- errors.New("podman event stream ended: the service went away")
					}
					return
				}
				code, _ := strconv.Atoi(e.Actor.Attributes["containerExitCode"])
				ev := engine.ContainerEvent{
					Time:      time.Unix(0, e.TimeNano),
					Action:    string(e.Action),
					Container: e.Actor.Attributes["name"],
					ID:        e.Actor.ID,
					ExitCode:  code,
				}
				if e.TimeNano == 0 {
					ev.Time = time.Unix(e.Time, 0)
				}
				select {
				case out <- ev:
				case <-ctx.Done():
				}
			}
		}
	}()
	return out, errc
}
