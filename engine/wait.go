package engine

import (
	"context"
	"sync"
	"time"

	"archy.dev/archy/schema"
)

// Waiting for a node to be healthy after an apply (archy apply --wait).
type (
	// Waiting: Apps are probed until each is healthy, for at most
	// Timeout.
	Waiting struct {
		Apps    []string
		Timeout time.Duration
	}
	// WaitedHealthy: the app answered healthy, Took after the wait began.
	WaitedHealthy struct {
		App  string
		Took time.Duration
	}
	// WaitedNotHealthy: the app was not healthy within Timeout; Err is
	// its last probe's answer.
	WaitedNotHealthy struct {
		App     string
		Timeout time.Duration
		Err     error
	}
)

func (Waiting) progressEvent()          {}
func (WaitedHealthy) progressEvent()    {}
func (WaitedNotHealthy) progressEvent() {}

// Running is what of a plan runs once it is applied, in plan order: its
// declared apps but those the operator stopped or removed, those stopped
// for low disk space, and a forward-only app held stopped after a failed
// upgrade. These are what apply --wait waits for: the others are down on
// purpose.
func (n *Node) Running(pl Planned) ([]*schema.App, error) {
	st, err := n.State.Load()
	if err != nil {
		return nil, err
	}
	var out []*schema.App
	for _, s := range pl.Plan.Steps {
		d, ok := pl.Desired[s.App]
		if !ok || s.Level == 0 {
			continue
		}
		it := st.Apps[s.App]
		if it.Removed || it.KeptStopped() || (it.HeldStopped && it.Held != "") {
			continue
		}
		out = append(out, d.App)
	}
	return out, nil
}

// WaitAllHealthy probes apps side by side until each is healthy, as
// status says it (Probe: the app's health_check, or running without one;
// a warm-up is not healthy), or timeout has passed. It returns those that
// were not healthy in time, in the order of apps, with their last answer;
// the error is ctx's, when it ended first. Unlike an apply's wait for a
// dependency (WaitHealthy's patience, from the app's own check settings),
// the operator's timeout bounds the whole wait.
func WaitAllHealthy(ctx context.Context, rt ProbeRuntime, apps []*schema.App, timeout time.Duration, progress Progress) ([]CheckFailure, error) {
	emit := func(ev ProgressEvent) {
		if progress != nil {
			progress.Event(ev)
		}
	}
	ids := make([]string, len(apps))
	for i, app := range apps {
		ids[i] = app.ID
	}
	emit(Waiting{Apps: ids, Timeout: timeout})
	start := time.Now()
	fails := make([]error, len(apps))
	var wg sync.WaitGroup
	for i, app := range apps {
		wg.Go(func() {
			wctx, cancel := context.WithTimeout(ctx, timeout)
			err := WaitHealthy(wctx, rt, app, timeout)
			cancel()
			if err != nil && ctx.Err() == nil {
				// Ask once more, for the answer itself rather than a
				// deadline: it may also be healthy by now.
				err = Probe(ctx, rt, app)
			}
			switch {
			case ctx.Err() != nil:
			case err == nil:
				emit(WaitedHealthy{App: app.ID, Took: time.Since(start)})
			default:
				fails[i] = err
				emit(WaitedNotHealthy{App: app.ID, Timeout: timeout, Err: err})
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []CheckFailure
	for i, err := range fails {
		if err != nil {
			out = append(out, CheckFailure{App: apps[i].ID, Reason: HealthText(err)})
		}
	}
	return out, nil
}
