package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine"
)

// ActAll stops or starts the whole node (archy stop --all, start --all),
// in dependency order (engine.Node.StopAll, StartAll). Each app is acted
// on under its lock, and its event is published the moment it is done,
// so the event stream shows the order things happened in. The intent is
// recorded a level at a time, so the loop, reconciling meanwhile, never
// stops or starts an app out of order.
func (d *Daemon) ActAll(ctx context.Context, action engine.Action) (engine.AllResult, error) {
	if action != engine.ActStop && action != engine.ActStart {
		return engine.AllResult{}, fmt.Errorf("%w: unknown action %q for the whole node (start, stop)", engine.ErrBadRequest, action)
	}
	var res engine.AllResult
	// archy-node.service's start --all follows the daemon's READY=1 at
	// boot, which does not wait for Podman: give a daemon that has not
	// reached it yet a moment, rather than failing the node's start.
	select {
	case <-d.connected:
	case <-ctx.Done():
		return res, ctx.Err()
	case <-time.After(firstConnectWait):
	}
	err := d.session(ctx, func(ctx context.Context, rt engine.Runtime, node *engine.Node, cat *catalog.Catalog) error {
		d.recover(ctx, node, cat)
		a := d.applier(node, d.lockActing)
		a.Parallel = d.cfg.Parallel
		a.Progress = publisher{d: d, next: a.Progress}
		d.publish(engine.Event{Type: engine.EventStep, Message: string(action) + " --all: " + allVerb(action)})
		var err error
		if action == engine.ActStop {
			res, err = node.StopAll(ctx, cat, a)
		} else {
			d.mu.Lock()
			states := make([]*appState, 0, len(d.apps))
			for _, st := range d.apps {
				states = append(states, st)
			}
			d.mu.Unlock()
			for _, st := range states {
				d.clearBackoff(st)
			}
			res, err = node.StartAll(ctx, cat, a)
		}
		for _, o := range res.Report.Outcomes {
			switch {
			case o.Stale:
				d.enqueueApp(o.App, false) // someone else acted on it: look again
			case o.Err != nil:
				d.metrics.failures.WithLabelValues(o.App).Inc()
			case action == engine.ActStart:
				d.recordStarted(o)
			}
			for _, act := range o.Done {
				d.metrics.steps.WithLabelValues(string(act)).Inc()
			}
		}
		if err == nil {
			err = res.Report.Err()
		}
		if err != nil {
			d.publish(engine.Event{Type: engine.EventFailure, Message: string(action) + " --all: " + err.Error()})
		} else {
			d.publish(engine.Event{Type: engine.EventStep, Message: string(action) + " --all done"})
		}
		return nil // the failures of apps are in res
	})
	return res, err
}

func allVerb(action engine.Action) string {
	if action == engine.ActStop {
		return "stopping every app, dependents first"
	}
	return "starting every app, dependencies first"
}

// lockActing takes an app's lock for an action of the operator's: a death
// it causes meanwhile is archy's own doing, not a crash to heal.
func (d *Daemon) lockActing(ctx context.Context, id string) (func(), error) {
	unlock, err := d.locks.Lock(ctx, id)
	if err != nil {
		return nil, err
	}
	done := d.setActing(id)
	return func() {
		done()
		unlock()
	}, nil
}

// publisher publishes each app's step as an event the moment it ends (and
// passes every progress event on to next).
type publisher struct {
	d    *Daemon
	next engine.Progress
}

func (p publisher) Event(ev engine.ProgressEvent) {
	if p.next != nil {
		p.next.Event(ev)
	}
	switch e := ev.(type) {
	case engine.StepSkipped:
		p.d.publish(engine.Event{Type: engine.EventFailure, App: e.App, Message: "skipped: " + e.Reason})
	case engine.StepBlocked:
		p.d.publish(engine.Event{Type: engine.EventFailure, App: e.App, Message: "blocked: " + e.Reason})
	case engine.StepDone:
		var rb *engine.RollbackError
		switch {
		case errors.As(e.Err, &rb):
			p.d.metrics.rollbacks.WithLabelValues(e.App).Inc()
			p.d.publish(engine.Event{Type: engine.EventRollback, App: e.App, Message: e.Err.Error()})
		case e.Err != nil:
			p.d.publish(engine.Event{Type: engine.EventFailure, App: e.App, Message: e.Err.Error()})
		default:
			msg := actionsText(e.Done)
			if msg == "" {
				msg = "nothing to do"
			}
			p.d.publish(engine.Event{Type: engine.EventStep, App: e.App, Message: msg,
				Fields: map[string]string{"duration": e.Took.Round(time.Millisecond).String()}})
		}
	}
}
