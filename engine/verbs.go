package engine

import (
	"context"
	"errors"
	"syscall"
	"time"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// Apply stores the secrets of the apps about to be created or started in
// Podman (a start needs them too, should someone have removed one), then
// carries out the plan.
func (n *Node) Apply(ctx context.Context, pl Planned, a *Applier) (Report, error) {
	var fresh []*schema.App
	for _, s := range pl.Plan.Steps {
		if d, ok := pl.Desired[s.App]; ok && (s.Has(plan.Create) || s.Has(plan.Recreate) || s.Has(plan.Start)) {
			fresh = append(fresh, d.App)
		}
	}
	if err := n.Secrets.Sync(ctx, n.Runtime, fresh); err != nil {
		return Report{}, err
	}
	return a.Apply(ctx, pl.Plan, pl.Desired), nil
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
	err = n.Runtime.Stop(ctx, app.ContainerName, a.stopTimeout())
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return wrap(err, "stopping %s", app.ContainerName)
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
	if err := n.Runtime.Stop(ctx, app.ContainerName, a.stopTimeout()); err != nil {
		return wrap(err, "stopping %s", app.ContainerName)
	}
	return a.start(ctx, app)
}

// Remove removes an app's container. Its named volumes are kept unless
// purge is set; host paths are never touched. The app stays removed, by
// apply and the daemon alike, until archy start.
func (n *Node) Remove(ctx context.Context, cat *catalog.Catalog, id string, purge bool) error {
	app, err := cat.App(id)
	if err != nil {
		return err
	}
	if err := n.Runtime.Remove(ctx, app.ContainerName); err != nil && !errors.Is(err, ErrNotFound) {
		return wrap(err, "removing %s", app.ContainerName)
	}
	if purge {
		for _, v := range app.Volumes {
			if v.Name == "" {
				continue
			}
			if err := n.Runtime.RemoveVolume(ctx, v.Name); err != nil && !errors.Is(err, ErrNotFound) {
				return wrap(err, "removing volume %s", v.Name)
			}
		}
	}
	return n.State.Update(func(st *state.State) { st.Apps[id] = plan.AppIntent{Removed: true} })
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

// setStopped records the operator's stop, or clears it (and a removal).
func (n *Node) setStopped(id string, stopped bool) error {
	return n.State.Update(func(st *state.State) {
		it := st.Apps[id]
		it.Stopped = stopped
		if !stopped {
			it.Removed = false
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
	if intent.Stopped || intent.Removed || (intent.SecretsHash != "" && intent.SecretsHash != n.Secrets.Hash(app)) {
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
