package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
)

// publish logs an event and sends it to the API's subscribers.
func (d *Daemon) publish(e engine.Event) {
	level := slog.LevelInfo
	switch e.Type {
	case engine.EventFailure, engine.EventWarning, engine.EventBackoff, engine.EventPodman:
		level = slog.LevelWarn
	}
	d.publishAt(level, e)
}

// publishAt is publish with the log's level given: good news of a type
// that is usually bad (Podman connected) is no warning in the journal.
func (d *Daemon) publishAt(level slog.Level, e engine.Event) {
	attrs := []any{"event", e.Type, "app", e.App}
	for _, k := range slices.Sorted(maps.Keys(e.Fields)) {
		attrs = append(attrs, k, e.Fields[k])
	}
	d.log.Log(context.Background(), level, e.Message, attrs...)
	d.bus.Publish(e)
}

// reconcile plans and applies (only for apps not backing off) and
// reports what it did.
func (d *Daemon) reconcile(ctx context.Context, node *engine.Node, rt engine.Runtime, cat *catalog.Catalog, only []string) error {
	start := time.Now()
	defer func() { d.metrics.reconcileSeconds.Observe(time.Since(start).Seconds()) }()
	pl, err := node.Plan(ctx, cat, engine.PlanOptions{Only: only})
	if err != nil {
		d.publish(engine.Event{Type: engine.EventFailure, Message: "plan: " + err.Error()})
		return err
	}
	d.watchProcesses(pl.Observed)
	d.sawContainers(pl.Observed)
	d.holdBackingOff(&pl)
	if pl.Plan.Changes() == 0 && !pl.Plan.Blocked() {
		d.forgetBlocks(pl.Plan, engine.Report{})
		for _, s := range pl.Plan.Steps { // nothing to do: nothing failing
			d.setFailure(s.App, "")
		}
		return nil
	}
	scope := "all apps"
	if len(only) > 0 {
		scope = only[0]
	}
	if pl.Plan.Changes() > 0 { // only blocked apps: reported below, once
		d.publish(engine.Event{Type: engine.EventReconcile, Message: fmt.Sprintf("reconciling %s: %d changes", scope, pl.Plan.Changes())})
	}
	for _, s := range pl.Plan.Steps {
		if s.Has(plan.Recreate) { // an upgrade: it may take a while (build, proof)
			d.publish(engine.Event{Type: engine.EventStep, App: s.App,
				Message: "upgrading (" + actionsText(s.Actions) + "): " + strings.Join(s.Reasons, "; ")})
		}
	}
	a := d.applier(node, d.locks.Lock)
	a.Parallel = d.cfg.Parallel
	rep, err := node.Apply(ctx, pl, a)
	if err != nil {
		return err
	}
	d.forgetBlocks(pl.Plan, rep)
	for _, o := range rep.Outcomes {
		switch {
		case o.Blocked, strings.HasSuffix(o.Skipped, " was blocked"):
			// A block (a missing secret, say) lasts until the operator
			// acts: each reconcile checks again, but it is reported once.
			msg := "skipped: " + o.Skipped
			if o.Blocked {
				msg = o.Err.Error()
			}
			d.setFailure(o.App, msg)
			if d.newBlock(o.App, msg) {
				d.metrics.failures.WithLabelValues(o.App).Inc()
				d.publish(engine.Event{Type: engine.EventFailure, App: o.App, Message: msg})
			}
		case o.Stale:
			d.enqueueApp(o.App, false) // someone else acted on it: look again
		case o.RolledBack:
			d.metrics.failures.WithLabelValues(o.App).Inc()
			d.metrics.rollbacks.WithLabelValues(o.App).Inc()
			d.publish(engine.Event{Type: engine.EventRollback, App: o.App, Message: o.Err.Error()})
		case errors.As(o.Err, new(*engine.JobError)):
			d.metrics.failures.WithLabelValues(o.App).Inc()
			d.jobFailed(o)
		case o.Err != nil:
			d.metrics.failures.WithLabelValues(o.App).Inc()
			d.setFailure(o.App, o.Err.Error())
			d.publish(engine.Event{Type: engine.EventFailure, App: o.App, Message: o.Err.Error()})
		case o.Skipped != "":
			d.publish(engine.Event{Type: engine.EventFailure, App: o.App, Message: "skipped: " + o.Skipped})
		case len(o.Done) > 0:
			d.setFailure(o.App, "")
			d.jobsPassed(o.App)
			d.recordStarted(o)
			d.publish(engine.Event{Type: engine.EventStep, App: o.App, Message: actionsText(o.Done),
				Fields: map[string]string{"duration": o.Duration.Round(time.Millisecond).String()}})
		}
		for _, act := range o.Done {
			d.metrics.steps.WithLabelValues(string(act)).Inc()
		}
	}
	return rep.Err()
}

// setFailure records archy's last failed step on an app ("": one
// succeeded, or there is nothing left to do), for its status.
func (d *Daemon) setFailure(app, msg string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.apps[app]
	if st == nil || st.failure == msg {
		return
	}
	st.failure, st.failureAt = msg, time.Now()
	if msg == "" {
		st.failureAt = time.Time{}
	}
}

// jobFailed backs a job's failure off like a crash (1 s doubling to
// 5 min), so that a failing job is not run on every reconcile, and
// reports it once per new message.
func (d *Daemon) jobFailed(o engine.Outcome) {
	d.mu.Lock()
	st := d.apps[o.App]
	if d.jobFails == nil {
		d.jobFails = map[string]string{}
	}
	msg := o.Err.Error()
	news := d.jobFails[o.App] != msg
	d.jobFails[o.App] = msg
	var delay time.Duration
	if st != nil {
		st.jobFailures++
		delay = d.delays.backoff(st.jobFailures)
		st.backoffUntil = time.Now().Add(delay)
	}
	d.mu.Unlock()
	if news {
		d.publish(engine.Event{Type: engine.EventFailure, App: o.App, Message: msg})
	}
	if st != nil {
		d.metrics.backoff.WithLabelValues(o.App).Set(delay.Seconds())
		d.scheduleAfter(o.App, st, delay)
	}
}

// jobsPassed forgets an app's job failures once a step of it succeeds.
func (d *Daemon) jobsPassed(app string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.jobFails, app)
	if st := d.apps[app]; st != nil {
		st.jobFailures = 0
	}
}

// newBlock records that app is blocked with msg and reports whether that
// is news.
func (d *Daemon) newBlock(app, msg string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.blocks == nil {
		d.blocks = map[string]string{}
	}
	if d.blocks[app] == msg {
		return false
	}
	d.blocks[app] = msg
	return true
}

// forgetBlocks drops the recorded blocks of the apps this reconcile did
// not find blocked, so that a later block is reported again.
func (d *Daemon) forgetBlocks(p plan.Plan, rep engine.Report) {
	still := map[string]bool{}
	for _, o := range rep.Outcomes {
		if o.Blocked || strings.HasSuffix(o.Skipped, " was blocked") {
			still[o.App] = true
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range p.Steps {
		if !still[s.App] {
			delete(d.blocks, s.App)
		}
	}
}

// holdBackingOff drops the steps of apps whose backoff has not run out;
// a reconcile is scheduled for when it does.
func (d *Daemon) holdBackingOff(pl *engine.Planned) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	for i, s := range pl.Plan.Steps {
		st := d.apps[s.App]
		if st == nil || !now.Before(st.backoffUntil) || len(s.Actions) == 0 {
			continue
		}
		pl.Plan.Steps[i].Actions = []plan.Action{}
	}
}

// recordStarted notes when archy (re)started an app, for crash detection.
func (d *Daemon) recordStarted(o engine.Outcome) {
	started := false
	for _, a := range o.Done {
		if a == plan.Start || a == plan.Create || a == plan.Recreate {
			started = true
		}
	}
	if !started {
		return
	}
	now := time.Now()
	d.mu.Lock()
	if st := d.apps[o.App]; st != nil {
		st.startedAt = now
		st.restarts++
		d.metrics.restarts.WithLabelValues(o.App).Inc()
		if app := d.cat.Apps[o.App]; app != nil && app.HealthCheck == nil {
			st.down, st.downSince = "", time.Time{} // running is all it can show
		}
	}
	cat := d.cat
	d.mu.Unlock()
	d.restartDependents(cat, o.App)
}

// restartDependents restarts, once the app is back, the running apps that
// asked for it (on_dependency_restart: "restart") and were started before
// it was: those started after already see it.
func (d *Daemon) restartDependents(cat *catalog.Catalog, id string) {
	for _, dep := range cat.List() {
		for _, on := range dep.Dependencies {
			if on.AppID != id || on.OnDependencyRestart != "restart" {
				continue
			}
			go d.logErr(dep.ID, d.act(d.ctx, dep.ID, func(ctx context.Context, rt engine.Runtime, node *engine.Node, cat *catalog.Catalog) error {
				back, err := rt.Inspect(ctx, cat.Apps[id].ContainerName)
				if err != nil {
					return nil
				}
				c, err := rt.Inspect(ctx, dep.ContainerName)
				if err != nil || c.State != plan.StateRunning || !c.StartedAt.Before(back.StartedAt) {
					return nil // not running (a reconcile starts it in order), or started since
				}
				if on.Condition == "healthy" {
					if err := engine.WaitHealthy(ctx, rt, cat.Apps[id], time.Minute); err != nil {
						return fmt.Errorf("not restarting %s: %w", dep.ID, err)
					}
				}
				d.publish(engine.Event{Type: engine.EventStep, App: dep.ID, Message: "restarting: dependency " + id + " was restarted"})
				err = node.Restart(ctx, cat, dep.ID, d.applier(node, nil))
				if err == nil {
					d.recordStarted(engine.Outcome{App: dep.ID, Done: []plan.Action{plan.Start}})
				}
				return err
			}))
		}
	}
}

// applier is an Applier for the daemon's work: progress to
// Config.Progress (warnings to the event stream), and archy's own stops
// known as such (no crash).
func (d *Daemon) applier(node *engine.Node, lock func(context.Context, string) (func(), error)) *engine.Applier {
	a := node.Applier(progress{d})
	a.Lock, a.Stopping = lock, d.expectStop
	return a
}

// recover finishes the upgrades a killed archy left half done (see
// engine.Node.Recover): before each full reconcile (the first one at
// start) and each plan of one app.
func (d *Daemon) recover(ctx context.Context, node *engine.Node, cat *catalog.Catalog) {
	if err := node.Recover(ctx, cat, d.applier(node, d.locks.Lock)); err != nil {
		d.log.Error("recovering an interrupted upgrade", "err", err)
		d.publish(engine.Event{Type: engine.EventFailure, Message: err.Error()})
	}
}

// progress passes the daemon's apply progress on to Config.Progress, and
// makes events of what the node's UI must show: an unclean stop is a
// warning event (logged as such, so not passed on) and counted.
type progress struct{ d *Daemon }

func (p progress) Event(ev engine.ProgressEvent) {
	switch e := ev.(type) {
	case engine.UncleanStop:
		p.d.metrics.uncleanStops.WithLabelValues(e.App).Inc()
		p.d.publish(engine.Event{Time: e.Time, Type: engine.EventWarning, App: e.App,
			Message: engine.UncleanStopMessage(e.App, e.Timeout),
			Fields:  map[string]string{"timeout_seconds": strconv.Itoa(int(math.Ceil(e.Timeout.Seconds())))}})
	default:
		if p.d.cfg.Progress != nil {
			p.d.cfg.Progress.Event(ev)
		}
	}
}

func actionsText(as []plan.Action) string {
	s := ""
	for i, a := range as {
		if i > 0 {
			s += ", "
		}
		s += string(a)
	}
	return s
}
