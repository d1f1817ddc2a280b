package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"archy.dev/archy/engine/state"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// Every stop archy makes (plan's stop, restart, the set-aside of a
// replacement, a rollback, rm, --prune, the daemon's probe and dependency
// restarts, the removal of a set-aside container) goes through
// stopContainer or removeContainer, with the app's stop settings (see
// stopSettings). The Podman adapter also creates every container with
// them, so that a podman stop by hand honours them too.

// StopTimeout is how long archy lets an app's container stop before it is
// killed: its stop.timeout (schema.DefaultStopTimeout unless set).
func StopTimeout(app *schema.App) time.Duration {
	return app.Stop.TimeoutOrDefault()
}

// stopSettings are the signal and timeout a stop of container c of app
// gives it. The signal is the one c was made with (its archy.spec label
// records it): Podman sends that one. The timeout is the app's
// (StopTimeout), or the one c was made with if that is longer: a rollback
// stops the current container for an earlier generation's spec, a recreate
// stops the old container after the app's timeout changed, and neither
// may kill a process before a timeout it was declared with. A container
// archy did not make (adopted, or no label) gets the app's.
func stopSettings(app *schema.App, c plan.Container) (signal string, timeout time.Duration) {
	signal, timeout = app.Stop.SignalName(), StopTimeout(app)
	if spec := c.Labels[plan.LabelSpec]; spec != "" {
		if made, err := plan.AppFromSpec(app, spec); err == nil {
			signal, timeout = made.Stop.SignalName(), max(timeout, StopTimeout(made))
		}
	}
	return signal, timeout
}

// killedExit is the exit code of a process ended by SIGKILL (128 + 9):
// what Podman reports for a container it killed after its stop timeout.
const killedExit = 137

// stopContainer stops container name of app (see stopSettings). A
// container that was running and had to be killed after the timeout is
// reported (UncleanStop) and recorded in state until archy next stops the
// app cleanly. A missing container is ErrNotFound.
func (a *Applier) stopContainer(ctx context.Context, app *schema.App, name string) error {
	_, err := a.stop(ctx, app, name)
	return err
}

// stop is stopContainer, returning the timeout it gave.
func (a *Applier) stop(ctx context.Context, app *schema.App, name string) (time.Duration, error) {
	before, err := a.Runtime.Inspect(ctx, name)
	if err != nil {
		return 0, err
	}
	signal, timeout := stopSettings(app, before)
	if err := a.Runtime.Stop(ctx, name, timeout); err != nil {
		return timeout, err
	}
	if before.State != plan.StateRunning {
		return timeout, nil // nothing was stopped: nothing to say
	}
	after, err := a.Runtime.Inspect(ctx, name)
	if err != nil || !after.StartedAt.Equal(before.StartedAt) {
		return timeout, nil // gone or started again meanwhile: not this stop's to judge
	}
	// A stop signal of SIGKILL is the app's own choice, not a kill after
	// the timeout.
	killed := after.ExitCode == killedExit && signal != "SIGKILL"
	return timeout, a.recordStop(app.ID, timeout, killed)
}

// removeContainer removes container name of app: stopped first (see
// stopContainer), then removed. A missing container is ErrNotFound.
func (a *Applier) removeContainer(ctx context.Context, app *schema.App, name string) error {
	timeout, err := a.stop(ctx, app, name)
	if err != nil {
		return err
	}
	// Remove stops too (should it have been started meanwhile), with the
	// same timeout rather than Podman's default.
	return a.Runtime.Remove(ctx, name, timeout)
}

// stopJob stops a job's container that outran its timeout, with the
// app's stop signal and timeout (the job's container is made with them).
// The job has failed anyway: no unclean stop of the app is recorded.
func (a *Applier) stopJob(ctx context.Context, app *schema.App, name string) error {
	return a.Runtime.Stop(ctx, name, StopTimeout(app))
}

// removeJob removes a job's container, stopping it first as stopJob does.
func (a *Applier) removeJob(ctx context.Context, app *schema.App, name string) error {
	if err := ignoreNotFound(a.stopJob(ctx, app, name)); err != nil {
		return err
	}
	return ignoreNotFound(a.Runtime.Remove(ctx, name, StopTimeout(app)))
}

// removeUndeclared removes a container archy made whose app is no longer
// declared (--prune, a set-aside container of a removed app): the stop
// settings are the ones its archy.spec label records.
func (a *Applier) removeUndeclared(ctx context.Context, id, name string) error {
	app := &schema.App{ID: id, ContainerName: name}
	if c, err := a.Runtime.Inspect(ctx, name); err == nil && c.Labels[plan.LabelSpec] != "" {
		if made, err := plan.AppFromSpec(app, c.Labels[plan.LabelSpec]); err == nil {
			app = made
		}
	}
	return a.removeContainer(ctx, app, name)
}

// recordStop reports and records an unclean stop, or clears the record
// of an earlier one once the app stopped cleanly.
func (a *Applier) recordStop(id string, timeout time.Duration, killed bool) error {
	if killed {
		now := time.Now().UTC()
		a.emit(UncleanStop{App: id, Timeout: timeout, Time: now})
		return a.updateState(func(st *state.State) {
			if st.UncleanStops == nil {
				st.UncleanStops = map[string]state.UncleanStop{}
			}
			st.UncleanStops[id] = state.UncleanStop{Time: now, Timeout: schema.Duration(timeout)}
		})
	}
	st, err := a.State.Load()
	if err != nil {
		return err
	}
	if _, ok := st.UncleanStops[id]; !ok {
		return nil // the usual case: no write
	}
	return a.updateState(func(st *state.State) { delete(st.UncleanStops, id) })
}

// UncleanStopMessage is what archy says of an app it had to kill after
// its stop timeout: in the event, the log, and status.
func UncleanStopMessage(app string, timeout time.Duration) string {
	secs := (timeout + time.Second - 1) / time.Second // as Podman applied it
	return fmt.Sprintf("%s was killed after its %ds stop timeout: its data may need recovery", app, secs)
}

// ignoreNotFound is nil for ErrNotFound: a container that is gone needs
// no stopping or removing.
func ignoreNotFound(err error) error {
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}
