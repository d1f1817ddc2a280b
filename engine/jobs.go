package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"archy.dev/archy/engine/state"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// jobLogLimit is how much of a job's output archy keeps: the end.
const jobLogLimit = 64 << 10

// jobLogTail is how many lines of its log a failed job's error carries.
const jobLogTail = 10

// JobContainer is the name of the container of an app's job.
func JobContainer(app *schema.App, job string) string {
	return app.ContainerName + "-job-" + job
}

// JobLogPath is where the log of a job's last run is kept.
func JobLogPath(dataDir, app, job string) string {
	return filepath.Join(dataDir, "jobs", app, job+".log")
}

// JobLog returns the kept log of the job's last run.
func JobLog(dataDir string, app *schema.App, job string) ([]byte, error) {
	if !slices.ContainsFunc(app.Jobs, func(j schema.Job) bool { return j.Name == job }) {
		return nil, fmt.Errorf("app %s has no job %s", app.ID, job)
	}
	b, err := os.ReadFile(JobLogPath(dataDir, app.ID, job))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("job %s of %s has not run yet (no log kept)", job, app.ID)
	}
	return b, err
}

// VolumesKey is plan.Desired.Volumes of app, as the runtime has its
// named volumes now.
func VolumesKey(ctx context.Context, rt Volumes, app *schema.App) (string, error) {
	names := app.NamedVolumes()
	if len(names) == 0 {
		return "", nil
	}
	created, err := rt.VolumesCreated(ctx)
	if err != nil {
		return "", fmt.Errorf("listing volumes: %w", err)
	}
	return plan.JobVolumesKey(names, created), nil
}

// withJobs runs change (a verb's start or replacement, outside a plan)
// between the app's jobs that a step of actions would run: the due
// before jobs first, the due after-healthy ones once it is healthy.
func (a *Applier) withJobs(ctx context.Context, app *schema.App, actions []plan.Action, change func() error) error {
	if len(app.Jobs) == 0 {
		return change()
	}
	st, err := a.State.Load()
	if err != nil {
		return err
	}
	d := plan.Desired{App: app}
	if d.Volumes, err = VolumesKey(ctx, a.Runtime, app); err != nil {
		return err
	}
	s := plan.Step{App: app.ID, Actions: actions}
	for _, j := range plan.DueJobs(d, st.Apps[app.ID], actions) {
		s.Jobs = append(s.Jobs, j.Name)
	}
	if err := a.runJobs(ctx, app, s.Jobs, schema.JobBefore); err != nil {
		return err
	}
	if err := change(); err != nil {
		return err
	}
	return a.runAfterHealthy(ctx, s, app)
}

// runJobs runs the step's due jobs (names) of phase, in declaration
// order, and records each outcome; the first failure ends the run.
func (a *Applier) runJobs(ctx context.Context, app *schema.App, names []string, phase string) error {
	for _, j := range app.Jobs {
		if j.Phase != phase || !slices.Contains(names, j.Name) {
			continue
		}
		start := time.Now()
		a.emit(JobRunning{App: app.ID, Job: j.Name, When: j.When})
		err := a.runJob(ctx, app, j)
		rec := plan.JobRecord{}
		if err == nil {
			rec.Volumes, err = VolumesKey(ctx, a.Runtime, app)
		}
		if err != nil {
			rec.Pending, rec.Failed = true, err.Error()
			var f jobFailure
			if errors.As(err, &f) {
				rec.Failed = f.reason
			}
		}
		a.emit(JobDone{App: app.ID, Job: j.Name, Took: time.Since(start), Err: err})
		if serr := a.updateState(func(st *state.State) {
			it := st.Apps[app.ID]
			if it.Jobs == nil {
				it.Jobs = map[string]plan.JobRecord{}
			}
			it.Jobs[j.Name] = rec
			st.Apps[app.ID] = it
		}); err == nil {
			err = serr
		}
		if err != nil {
			return &JobError{Job: j.Name, Err: err}
		}
	}
	return nil
}

// JobError is a job that failed: its app failed with it (the daemon
// retries it under backoff; status names the job).
type JobError struct {
	Job string
	Err error
}

func (e *JobError) Error() string { return "job " + e.Job + ": " + e.Err.Error() }
func (e *JobError) Unwrap() error { return e.Err }

// runJob runs one job to completion in its own container, keeps its log
// and removes the container. A job still running after its timeout is
// stopped and has failed.
func (a *Applier) runJob(ctx context.Context, app *schema.App, j schema.Job) error {
	name := JobContainer(app, j.Name)
	// A container left by an interrupted run is no use: start afresh.
	if err := a.removeJob(ctx, app, name); err != nil {
		return fmt.Errorf("removing the container of an earlier run: %w", err)
	}
	image := j.Image
	if j.SameAsApp {
		image = app.Container.Source.ImageRef()
	} else if _, err := a.Runtime.ImageSize(ctx, image); errors.Is(err, ErrNotFound) {
		if err := a.checkImageSpace(ctx, "pulling", image); err != nil {
			return err
		}
		a.emit(Pulling{App: app.ID, Image: image})
		if _, err := a.pull(ctx, app, image, "missing"); err != nil {
			return err
		}
	}
	vols := slices.Clone(j.Volumes)
	for i, v := range vols {
		// A volume the app declares too is created as the app declares
		// it, whichever container comes first.
		for _, av := range app.Volumes {
			if v.Name != "" && av.Name == v.Name && v.Owner == "" && v.Mode == "" {
				vols[i].Owner, vols[i].Mode = av.Owner, av.Mode
			}
		}
	}
	spec := ContainerSpec{Name: name, Image: image,
		Labels: map[string]string{plan.LabelApp: app.ID, plan.LabelJob: j.Name},
		ContainerConfig: schema.ContainerConfig{
			Command: j.Command, Entrypoint: j.Entrypoint, Environment: j.Env,
			Volumes: vols, Secrets: j.Secrets, Networks: app.Networks,
			Resources: app.Resources, Security: app.Security, Stop: app.Stop,
		}}
	if _, err := a.Runtime.Create(ctx, spec); err != nil {
		return err
	}
	defer a.removeJob(context.WithoutCancel(ctx), app, name)
	if err := a.Runtime.Start(ctx, name); err != nil {
		return err
	}
	timeout := time.Duration(j.Timeout)
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	code, werr := a.Runtime.Wait(wctx, name)
	cancel()
	timedOut := werr != nil && ctx.Err() == nil && wctx.Err() != nil
	if timedOut {
		if err := a.stopJob(ctx, app, name); err != nil {
			return fmt.Errorf("stopping it after its %s timeout: %w", timeout, err)
		}
	}
	log := a.keepJobLog(ctx, app.ID, j.Name, name)
	switch {
	case timedOut:
		return jobFailure{fmt.Sprintf("still running after its %s timeout: stopped", timeout), logTail(log)}
	case werr != nil:
		return werr
	case code != 0:
		return jobFailure{fmt.Sprintf("exited %d", code), logTail(log)}
	}
	return nil
}

// jobFailure is how a job's run failed, and the tail of its log.
type jobFailure struct{ reason, tail string }

func (f jobFailure) Error() string { return f.reason + f.tail }

// keepJobLog saves the end of the job container's output as the job's
// log and returns it (nil when it could not be read or kept: a job's
// outcome does not hang on its log).
func (a *Applier) keepJobLog(ctx context.Context, app, job, container string) []byte {
	var buf tailBuffer
	if err := a.Runtime.Logs(ctx, container, -1, false, &buf); err != nil {
		return nil
	}
	path := JobLogPath(a.State.Dir, app, job)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err == nil {
		os.WriteFile(path, buf.b, 0o600)
	}
	return buf.b
}

// tailBuffer keeps the last jobLogLimit bytes written to it.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - jobLogLimit; over > 0 {
		t.b = append(t.b[:0:0], t.b[over:]...)
	}
	return len(p), nil
}

// logTail is the last lines of a job's log, for its error.
func logTail(log []byte) string {
	lines := strings.Split(strings.TrimRight(string(bytes.ToValidUTF8(log, []byte("?"))), "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return " (no output)"
	}
	if len(lines) > jobLogTail {
		lines = lines[len(lines)-jobLogTail:]
	}
	return "; last lines of its log:\n    " + strings.Join(lines, "\n    ")
}
