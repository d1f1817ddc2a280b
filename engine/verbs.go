package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"syscall"
	"time"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// Action is an operator's request for one app, from the CLI or the API:
// the name of a Verb.
type Action string

const (
	ActStart    Action = "start"
	ActStop     Action = "stop"
	ActRestart  Action = "restart"
	ActInstall  Action = "install" // bring it to its declared state
	ActUpgrade  Action = "upgrade"
	ActRemove   Action = "remove"
	ActRollback Action = "rollback"
)

// Verb is an operator's action on one app. The CLI, the daemon and the API
// all read the one table of them (Verbs), so that a new verb is an entry
// there, its Node method and a line in the CLI.
type Verb struct {
	Action Action
	// Apply: it plans and applies; its result is a Report, shown as an
	// apply's is.
	Apply bool
	// Option names the VerbOptions field it reads, if any: "purge"
	// (remove), "to" (rollback, which reads Force too).
	Option string
	// Remote: a running daemon performs it (the CLI asks it through the
	// API); the others the CLI performs itself, under the host-wide lock.
	Remote bool
	// Starts: the operator wants the app running (a stop or removal of
	// theirs is cleared), so the daemon forgets its crash backoff.
	Starts bool

	run verbFunc
}

// VerbOptions are the options some verbs take (see Verb.Option).
type VerbOptions struct {
	Purge bool // remove: delete the app's named volumes too
	To    int  // rollback: the generation (0: the newest earlier one that ran)
	// Force, rollback: return a forward-only app (upgrade.rollback) to an
	// earlier generation on data a later one may have migrated.
	Force bool
}

// VerbResult is what a verb did.
type VerbResult struct {
	Report     Report           // what the apply did (Verb.Apply)
	Generation state.Generation // rollback: the generation the app is back at
}

type verbFunc func(ctx context.Context, n *Node, cat *catalog.Catalog, id string, o VerbOptions, a *Applier) (VerbResult, error)

// verbs are the operator's verbs, in the order messages list them.
var verbs = []Verb{
	{Action: ActStart, Apply: true, Remote: true, Starts: true, run: applies((*Node).Start)},
	{Action: ActStop, Remote: true, run: plain((*Node).Stop)},
	{Action: ActRestart, Remote: true, Starts: true, run: plain((*Node).Restart)},
	{Action: ActInstall, Apply: true, Remote: true, Starts: true, run: applies((*Node).Start)},
	{Action: ActUpgrade, Apply: true, Remote: true, run: applies((*Node).Upgrade)},
	{Action: ActRemove, Option: "purge", Remote: true, run: func(ctx context.Context, n *Node, cat *catalog.Catalog, id string, o VerbOptions, a *Applier) (VerbResult, error) {
		return VerbResult{}, n.Remove(ctx, cat, id, o.Purge, a)
	}},
	// Not the daemon's: the CLI takes the host-wide lock, and a running
	// daemon then sees the app held at the generation it was returned to.
	{Action: ActRollback, Option: "to", run: func(ctx context.Context, n *Node, cat *catalog.Catalog, id string, o VerbOptions, a *Applier) (VerbResult, error) {
		g, err := n.Rollback(ctx, cat, id, o.To, o.Force, a)
		return VerbResult{Generation: g}, err
	}},
}

// applies adapts a Node method that plans and applies.
func applies(f func(*Node, context.Context, *catalog.Catalog, string, *Applier) (Report, error)) verbFunc {
	return func(ctx context.Context, n *Node, cat *catalog.Catalog, id string, _ VerbOptions, a *Applier) (VerbResult, error) {
		rep, err := f(n, ctx, cat, id, a)
		return VerbResult{Report: rep}, err
	}
}

// plain adapts a Node method that reports only an error.
func plain(f func(*Node, context.Context, *catalog.Catalog, string, *Applier) error) verbFunc {
	return func(ctx context.Context, n *Node, cat *catalog.Catalog, id string, _ VerbOptions, a *Applier) (VerbResult, error) {
		return VerbResult{}, f(n, ctx, cat, id, a)
	}
}

// Verbs are the operator's verbs, in the order messages list them.
func Verbs() []Verb { return slices.Clone(verbs) }

// VerbNamed is the verb of an action.
func VerbNamed(action Action) (Verb, bool) {
	for _, v := range verbs {
		if v.Action == action {
			return v, true
		}
	}
	return Verb{}, false
}

// Act performs an operator's verb on one app; a is the Applier of the
// verbs that need one (see Node.Applier).
func (n *Node) Act(ctx context.Context, cat *catalog.Catalog, id string, action Action, o VerbOptions, a *Applier) (VerbResult, error) {
	v, ok := VerbNamed(action)
	if !ok {
		return VerbResult{}, fmt.Errorf("unknown action %q", action)
	}
	a.Catalog = cat
	return v.run(ctx, n, cat, id, o, a)
}

// Apply generates the missing generated secrets and stores the secrets
// file's values of the apps about to be created or started in Podman (a
// start needs them too, should someone have removed one), then carries
// out the plan.
func (n *Node) Apply(ctx context.Context, pl Planned, a *Applier) (Report, error) {
	var fresh []*schema.App
	for _, s := range pl.Plan.Steps {
		if d, ok := pl.Desired[s.App]; ok && (s.Has(plan.Create) || s.Has(plan.Recreate) || s.Has(plan.Start)) {
			fresh = append(fresh, d.App)
		}
	}
	created, err := n.Secrets.Generate(ctx, n.Runtime, consumedGenerators(pl.Generated, fresh))
	if err != nil {
		return Report{}, err
	}
	if len(created) > 0 { // their ids are part of their consumers' hash
		if err := n.rehash(ctx, pl.Desired); err != nil {
			return Report{}, err
		}
	}
	if err := n.Secrets.Sync(ctx, n.Runtime, fresh); err != nil {
		return Report{}, err
	}
	a.Catalog = pl.Catalog
	rep := a.Apply(ctx, pl.Plan, pl.Desired)
	if pl.Prune {
		rep.Outcomes = append(rep.Outcomes, a.endPrunedLives(ctx, pl.Catalog, rep)...)
	}
	// Networks go last: the containers the plan removed were attached.
	for _, name := range pl.Plan.RemoveNetworks {
		err := n.Runtime.RemoveNetwork(ctx, name)
		a.emit(NetworkRemoved{Name: name, Err: err})
		if err != nil {
			rep.Outcomes = append(rep.Outcomes, Outcome{App: "network " + name, Err: err})
		}
	}
	return rep, nil
}

// rehash observes the Podman secrets' ids again and hashes the desired
// apps' secrets anew: the hash a new container is recorded with must be
// the one the next plan computes.
func (n *Node) rehash(ctx context.Context, desired map[string]plan.Desired) error {
	ids, err := n.Runtime.SecretIDs(ctx)
	if err != nil {
		return fmt.Errorf("listing secrets: %w", err)
	}
	n.Secrets.ObserveIDs(ids)
	for id, d := range desired {
		d.SecretsHash = n.Secrets.Hash(d.App)
		desired[id] = d
	}
	return nil
}

// Stop stops an app and records that the operator wants it stopped, so
// that applies (and the daemon) leave it stopped.
func (n *Node) Stop(ctx context.Context, cat *catalog.Catalog, id string, a *Applier) error {
	app, err := cat.App(id)
	if err != nil {
		return err
	}
	if err := n.setStopped(id, true); err != nil {
		return err
	}
	return n.stopApp(ctx, app, a)
}

// stopApp stops an app's container the way archy stop does (a missing
// container is stopped enough): archy stop, archy stop --all and the disk
// guard.
func (n *Node) stopApp(ctx context.Context, app *schema.App, a *Applier) error {
	if err := n.stopContainer(ctx, app, a); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

// stopContainer stops an app's container: the one stop of archy stop and
// archy stop --all. A missing container is ErrNotFound.
func (n *Node) stopContainer(ctx context.Context, app *schema.App, a *Applier) error {
	return wrap(a.stopContainer(ctx, app, app.ContainerName), "stopping %s", app.ContainerName)
}

// Start clears the operator's stop and brings the app (and what it
// depends on) to its declared state.
func (n *Node) Start(ctx context.Context, cat *catalog.Catalog, id string, a *Applier) (Report, error) {
	if _, err := cat.App(id); err != nil {
		return Report{}, err
	}
	if err := n.setStopped(id, false); err != nil {
		return Report{}, err
	}
	pl, err := n.Plan(ctx, cat, PlanOptions{Only: []string{id}})
	if err != nil {
		return Report{}, err
	}
	return n.Apply(ctx, pl, a)
}

// Restart stops and starts an app's container.
func (n *Node) Restart(ctx context.Context, cat *catalog.Catalog, id string, a *Applier) error {
	app, err := cat.App(id)
	if err != nil {
		return err
	}
	if err := n.setStopped(id, false); err != nil {
		return err
	}
	if err := a.stopContainer(ctx, app, app.ContainerName); err != nil {
		return wrap(err, "stopping %s", app.ContainerName)
	}
	// A start like apply's: its every-start jobs (and any other due) run.
	return a.withJobs(ctx, app, []plan.Action{plan.Start}, func() error { return a.start(ctx, app) })
}

// Remove removes an app's container. Its named volumes are kept unless
// purge is set; host paths are never touched. The app stays removed, by
// apply and the daemon alike, until archy start.
func (n *Node) Remove(ctx context.Context, cat *catalog.Catalog, id string, purge bool, a *Applier) error {
	app, err := cat.App(id)
	if err != nil {
		return err
	}
	if err := ignoreNotFound(a.removeContainer(ctx, app, app.ContainerName)); err != nil {
		return wrap(err, "removing %s", app.ContainerName)
	}
	removed := plan.AppIntent{Removed: true}
	if !purge {
		return n.State.Update(func(st *state.State) { st.Apps[id] = removed })
	}
	for _, v := range app.NamedVolumes() { // the jobs' too
		if err := n.Runtime.RemoveVolume(ctx, v); err != nil && !errors.Is(err, ErrNotFound) {
			return wrap(err, "removing volume %s", v)
		}
	}
	// Its data is gone: so is its life (lives.go).
	return a.endLife(ctx, id, &removed)
}

// Upgrade builds or pulls the app's image while the old container runs,
// then recreates it; volumes are kept. It also replaces a container archy
// adopted.
func (n *Node) Upgrade(ctx context.Context, cat *catalog.Catalog, id string, a *Applier) (Report, error) {
	if _, err := cat.App(id); err != nil {
		return Report{}, err
	}
	pl, err := n.Plan(ctx, cat, PlanOptions{Only: []string{id}, Upgrade: []string{id}})
	if err != nil {
		return Report{}, err
	}
	return n.Apply(ctx, pl, a)
}

// setStopped records the operator's stop, or clears it (and a removal, and
// a hold for low disk space: the daemon holds it again if space is still
// low). Either way the stop is the app's own from now on, not archy stop
// --all's.
func (n *Node) setStopped(id string, stopped bool) error {
	return n.State.Update(func(st *state.State) {
		it := st.Apps[id]
		it.Stopped, it.NodeStopped = stopped, false
		if !stopped { // the operator's start also overrides a hold for low disk space
			it.Removed, it.DiskLow = false, ""
		}
		st.Apps[id] = it
	})
}

// HealResult is what Heal did.
type HealResult int

const (
	HealNeedsPlan HealResult = iota // more than a start is needed: a plan decides
	HealStarted                     // it was started again
	HealLeft                        // someone is stopping, removing or restarting it: what follows is theirs
)

// Heal starts an app's container again when a start is all it needs: c,
// the container last seen running, is archy's and made from the current
// spec and secrets, the operator wants it running, and it merely exited.
// It is the daemon's quick answer to a death, before Podman's event says
// more.
func (n *Node) Heal(ctx context.Context, app *schema.App, seen plan.Container) (HealResult, error) {
	if seen.Name != app.ContainerName || !plan.CreatedByArchy(&seen, app.ID) || seen.Labels[plan.LabelSpecHash] != plan.SpecHash(app) {
		return HealNeedsPlan, nil
	}
	st, err := n.State.Load()
	if err != nil {
		return HealNeedsPlan, err
	}
	intent := st.Apps[app.ID]
	if intent.KeptStopped() || intent.Removed || (intent.SecretsHash != "" && intent.SecretsHash != n.Secrets.Hash(app)) {
		return HealNeedsPlan, nil
	}
	c, err := n.Runtime.Inspect(ctx, app.ContainerName)
	// Podman may not have noticed the death yet (its runtime still shows
	// the dead process as running): ask again, briefly.
	for deadline := time.Now().Add(time.Second); err == nil && c.State == plan.StateRunning &&
		c.Pid == seen.Pid && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		c, err = n.Runtime.Inspect(ctx, app.ContainerName)
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return HealNeedsPlan, nil
	case err != nil:
		return HealNeedsPlan, err
	case c.ID != seen.ID:
		return HealNeedsPlan, nil
	case c.State != plan.StateExited && c.State != plan.StateStopped:
		// Stopping (podman stop: starting it now would fail that
		// stop), being removed, or running again (podman restart).
		return HealLeft, nil
	case killed(c.ExitCode):
		// Killed by someone: maybe Podman itself, in the middle of a
		// podman rm -f, which a start now would race (and lose a conmon
		// that holds the app's ports). The event says who it was.
		return HealLeft, nil
	}
	return HealStarted, n.Runtime.Start(ctx, app.ContainerName)
}

// killed tells an exit by a signal that someone sends to end a process
// (HUP, INT, KILL, TERM) from a crash (SEGV, ABRT, …) or an exit of the
// program's own.
func killed(exitCode int) bool {
	switch exitCode - 128 {
	case int(syscall.SIGHUP), int(syscall.SIGINT), int(syscall.SIGKILL), int(syscall.SIGTERM):
		return true
	}
	return false
}
