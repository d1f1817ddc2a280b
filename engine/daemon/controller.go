package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine"
	"archy.dev/archy/engine/api"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// Alive reports whether the daemon's loop answers within ctx: what the
// systemd watchdog is fed from, so that a wedged daemon is restarted.
func (d *Daemon) Alive(ctx context.Context) bool {
	reply := make(chan struct{})
	select {
	case d.alive <- reply:
	case <-ctx.Done():
		return false
	}
	select {
	case <-reply:
		return true
	case <-ctx.Done():
		return false
	}
}

// Status is the daemon's view of the node: each app's state plus what the
// daemon knows (backoff, restarts, unhealthy dependencies).
func (d *Daemon) Status(ctx context.Context) (engine.NodeStatus, error) {
	d.mu.Lock()
	node, cat, degraded, configErr, stateErr := d.node, d.cat, d.degraded, d.configErr, d.stateErr
	// What the daemon knows is taken before Podman is asked (which may
	// take a while right after a death): a read that begins after an
	// event sees what the event said, however quickly it is over.
	type known struct {
		down, failure        string
		downSince, failureAt time.Time
	}
	before := map[string]known{}
	for id, st := range d.apps {
		before[id] = known{st.down, st.failure, st.downSince, st.failureAt}
	}
	d.mu.Unlock()
	ns := engine.NodeStatus{Degraded: degraded, ConfigError: configErr, StateError: stateErr}
	if node == nil || degraded != "" {
		return ns, nil
	}
	apps, err := node.StatusWith(ctx, cat, d.knownHealth)
	if err != nil {
		return ns, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	unhealthy := map[string]string{} // why a dependent is degraded
	for _, a := range apps {
		switch {
		case a.State == plan.StateRunning && strings.HasPrefix(a.Health, engine.Starting):
			unhealthy[a.App] = "is starting"
		case a.State != plan.StateRunning || (a.Health != "" && a.Health != engine.Healthy):
			unhealthy[a.App] = "is down or unhealthy"
		}
	}
	for i, a := range apps {
		if st := d.apps[a.App]; st != nil {
			apps[i].Restarts = st.restarts
			if time.Now().Before(st.backoffUntil) {
				apps[i].BackoffUntil = st.backoffUntil
			}
			k := before[a.App]
			apps[i].Down, apps[i].DownSince = k.down, k.downSince
			apps[i].Failure, apps[i].FailureAt = k.failure, k.failureAt
		}
		for _, dep := range cat.Apps[a.App].Dependencies {
			if why := unhealthy[dep.AppID]; why != "" {
				apps[i].Degraded = "dependency " + dep.AppID + " " + why
			}
		}
	}
	ns.Apps = apps
	return ns, nil
}

// knownHealth is an app's health as the probe loop last found it, if it
// probed the container that runs now.
func (d *Daemon) knownHealth(app *schema.App, c plan.Container) (string, bool) {
	if app.HealthCheck == nil {
		return "", false // running is healthy: no probe to wait on
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.apps[app.ID]
	if st == nil || st.probedID != c.ID {
		return "", false
	}
	switch st.health {
	case engine.Healthy:
		return engine.Healthy, true
	case engine.Starting:
		return engine.Starting + ": " + st.note, true
	case engine.Unhealthy:
		// One failed probe of retries is no verdict (a container that
		// just started may not listen yet): the status probes afresh.
		if st.unhealthy >= app.HealthCheck.Retries {
			return engine.Unhealthy + ": " + st.healthErr, true
		}
	}
	return "", false
}

// Plan is what a full reconcile would do now.
func (d *Daemon) Plan(ctx context.Context) (plan.Plan, error) {
	d.mu.Lock()
	node, cat := d.node, d.cat
	d.mu.Unlock()
	if node == nil {
		return plan.Plan{}, fmt.Errorf("%w: not connected to podman", engine.ErrDegraded)
	}
	pl, err := node.Plan(ctx, cat, engine.PlanOptions{})
	if errors.Is(err, state.ErrUnusable) {
		err = fmt.Errorf("%w: %w", engine.ErrDegraded, err)
	}
	return pl.Plan, err
}

// Reconcile runs a full reconcile and waits for it.
func (d *Daemon) Reconcile(ctx context.Context) error {
	d.reload()
	return d.reconcileAll(ctx)
}

// Act performs an operator's action on one app, under its lock.
func (d *Daemon) Act(ctx context.Context, app string, action engine.Action, purge bool) error {
	d.mu.Lock()
	_, known := d.cat.Apps[app]
	d.mu.Unlock()
	if !known {
		return fmt.Errorf("%w: %q", catalog.ErrUnknownApp, app)
	}
	return d.act(ctx, app, func(ctx context.Context, rt engine.Runtime, node *engine.Node, cat *catalog.Catalog) error {
		d.mu.Lock()
		st := d.apps[app]
		d.mu.Unlock()
		v, ok := engine.VerbNamed(action)
		if !ok || !v.Remote {
			return fmt.Errorf("unknown action %q", action)
		}
		// The app's own lock is held already; the apps it depends on (which
		// start brings up too) are locked step by step.
		a := d.applier(node, d.lockOthers(app))
		if v.Starts {
			d.clearBackoff(st)
		}
		res, err := node.Act(ctx, cat, app, action, engine.VerbOptions{Purge: purge}, a)
		if err == nil {
			err = res.Report.Err()
		}
		msg, typ := string(action)+" done", engine.EventStep
		var rb *engine.RollbackError
		var fo *engine.ForwardOnlyError
		var nwb *engine.NoWayBackError
		switch {
		case errors.As(err, &rb):
			msg, typ = string(action)+": "+err.Error(), engine.EventRollback
			d.metrics.rollbacks.WithLabelValues(app).Inc()
		case errors.As(err, &fo), errors.As(err, &nwb): // not rolled back: held, kept stopped
			msg, typ = string(action)+": "+err.Error(), engine.EventFailure
			d.metrics.failures.WithLabelValues(app).Inc()
		case err != nil:
			msg = string(action) + " failed: " + err.Error()
			d.setFailure(app, msg)
		default:
			d.setFailure(app, "")
			if action == engine.ActStop || action == engine.ActRemove {
				d.serving(app) // down by the operator's wish now, not behind archy's back
			}
		}
		d.publish(engine.Event{Type: typ, App: app, Message: msg})
		return err
	})
}

// expectStop notes that archy itself is about to stop an app, so that its
// death (up to the app's stop timeout later) is taken neither for a crash
// nor for a stop behind archy's back.
func (d *Daemon) expectStop(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	timeout := schema.DefaultStopTimeout
	if app := d.cat.Apps[id]; app != nil {
		timeout = engine.StopTimeout(app)
	}
	if st := d.apps[id]; st != nil {
		st.ownStopUntil = time.Now().Add(timeout + externalWindow)
	}
}

func (d *Daemon) clearBackoff(st *appState) {
	if st == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	st.crashes, st.backoffUntil = 0, time.Time{}
	if st.timer != nil {
		st.timer.Stop()
	}
}

// Logs writes an app's logs; it takes no lock (it may follow for long).
func (d *Daemon) Logs(ctx context.Context, app string, tail int, follow bool, w io.Writer) error {
	d.mu.Lock()
	rt, cat := d.rt, d.cat
	d.mu.Unlock()
	a, ok := cat.Apps[app]
	if !ok {
		return fmt.Errorf("%w: %q", catalog.ErrUnknownApp, app)
	}
	if rt == nil {
		return fmt.Errorf("%w: not connected to podman", engine.ErrDegraded)
	}
	return rt.Logs(ctx, a.ContainerName, tail, follow, w)
}

// Health probes one app.
func (d *Daemon) Health(ctx context.Context, app string) error {
	d.mu.Lock()
	rt, cat := d.rt, d.cat
	d.mu.Unlock()
	a, ok := cat.Apps[app]
	if !ok {
		return fmt.Errorf("%w: %q", catalog.ErrUnknownApp, app)
	}
	return engine.Probe(ctx, rt, a)
}

// Subscribe streams the daemon's events, after the kept ones r asks for.
func (d *Daemon) Subscribe(r engine.Replay) ([]engine.Event, <-chan engine.Event, func()) {
	return d.bus.SubscribeFrom(r)
}

var _ api.Controller = (*Daemon)(nil)
