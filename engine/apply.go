package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// Applier carries out plans against a Runtime. It is configuration only:
// what one Apply call shares among its steps lives in an applyRun, so
// concurrent Apply calls may use one Applier.
type Applier struct {
	Runtime Runtime
	State   state.Store
	// Progress, when set, is told what happens as it happens (view
	// renders it).
	Progress Progress
	// Parallel is how many builds, pulls, creates and starts run at once
	// (default 4); the apps of a level wait for their proofs and their
	// dependencies side by side, holding none of these slots.
	Parallel int
	// WaitTimeout is the least time a dependent waits for a dependency's
	// condition (default 60 s); a health check's own timing may extend it.
	WaitTimeout time.Duration
	// Lock, when set, takes an app's lock around its step (see state.AppLocks):
	// for a plan made without holding the locks, whose steps are skipped
	// when their container changed in the meantime.
	Lock func(ctx context.Context, app string) (unlock func(), err error)
	// Stopping, when set, is told just before archy itself stops or
	// removes an app's container: its death is no crash.
	Stopping func(app string)
	// Catalog is the catalogue being applied: an upgrade goes back only to
	// a generation its rules (vet's, with the operator's opt-ins) accept.
	// Without one no upgrade goes back. Node's methods set it.
	Catalog *catalog.Catalog
}

// applyRun is one call of Apply: the outcomes so far, which dependents
// read, and the dependency conditions already waited for.
type applyRun struct {
	*Applier
	desired map[string]plan.Desired

	mu      sync.Mutex // guards results and ready
	results map[string]*Outcome
	ready   map[string]*readiness
}

// Outcome is what happened to one app.
type Outcome struct {
	App     string
	Done    []plan.Action
	Err     error
	Skipped string // why it was not attempted
	// Blocked: the plan said it cannot be brought up (Err says why).
	Blocked bool
	// Stale: skipped because its container changed after the plan was
	// made (see Applier.Lock); planning again sorts it out.
	Stale bool
	// RolledBack: its new container failed its proof and the previous
	// generation runs again (Err is a *RollbackError).
	RolledBack bool
	Duration   time.Duration
}

// Report is the outcome of every app that had something to do.
type Report struct {
	Outcomes []Outcome
}

// Failed is the apps whose steps failed (not those skipped because of
// them: knock-on failures are not failures of their own).
func (r Report) Failed() []Outcome {
	var out []Outcome
	for _, o := range r.Outcomes {
		if o.Err != nil {
			out = append(out, o)
		}
	}
	return out
}

// Err joins every failure, or is nil.
func (r Report) Err() error {
	var err *multierror.Error
	for _, o := range r.Failed() {
		err = multierror.Append(err, fmt.Errorf("%s: %w", o.App, o.Err))
	}
	if err == nil {
		return nil
	}
	err.ErrorFormat = func(es []error) string {
		lines := make([]string, len(es))
		for i, e := range es {
			lines[i] = "  " + e.Error()
		}
		return fmt.Sprintf("%s failed:\n%s", plural(len(es), "app"), strings.Join(lines, "\n"))
	}
	return err
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// readiness memoises whether an app met a dependency condition, so that
// several dependents wait on one probe loop.
type readiness struct {
	once sync.Once
	err  error
}

// Apply runs the plan: removals first; then the steps that only stop an
// app, dependents first (an app never loses a dependency while it still
// runs, and a stop waits for no dependency); then each level's apps in
// parallel. An app whose dependency failed, was skipped or did not meet
// its condition is skipped; one failure never stops unrelated apps.
func (a *Applier) Apply(ctx context.Context, p plan.Plan, desired map[string]plan.Desired) Report {
	parallel := a.Parallel
	if parallel < 1 {
		parallel = 4
	}
	// The steps of a level run side by side; only what loads the host
	// takes one of parallel slots (loadLimited).
	limited := *a
	limited.Runtime = limitLoad(a.Runtime, parallel)
	run := &applyRun{Applier: &limited, desired: desired, results: map[string]*Outcome{}, ready: map[string]*readiness{}}
	levels := map[int][]plan.Step{}
	stops := map[int][]plan.Step{}
	maxLevel := 0
	for _, s := range p.Steps {
		if onlyStops(s) {
			stops[s.Level] = append(stops[s.Level], s)
		} else {
			levels[s.Level] = append(levels[s.Level], s)
		}
		maxLevel = max(maxLevel, s.Level)
	}
	runLevel := func(steps []plan.Step, do func(plan.Step)) {
		var wg sync.WaitGroup
		for _, s := range steps {
			if len(s.Actions) == 0 && s.Blocked == "" {
				continue
			}
			wg.Go(func() { do(s) })
		}
		wg.Wait()
	}
	runLevel(levels[0], func(s plan.Step) { run.applyStep(ctx, s) })
	for level := maxLevel; level >= 1; level-- {
		runLevel(stops[level], func(s plan.Step) { run.stopStep(ctx, s) })
	}
	for level := 1; level <= maxLevel; level++ {
		runLevel(levels[level], func(s plan.Step) { run.applyStep(ctx, s) })
	}
	var report Report
	for _, s := range p.Steps {
		if o, ok := run.results[s.App]; ok {
			report.Outcomes = append(report.Outcomes, *o)
		}
	}
	return report
}

// onlyStops reports whether a step of a declared app does nothing but
// stop it.
func onlyStops(s plan.Step) bool {
	return s.Level > 0 && s.Blocked == "" && len(s.Actions) > 0 && !slices.ContainsFunc(s.Actions, func(a plan.Action) bool { return a != plan.Stop })
}

func (a *applyRun) applyStep(ctx context.Context, s plan.Step) {
	start := time.Now()
	o := &Outcome{App: s.App}
	defer func() {
		o.Duration = time.Since(start)
		a.mu.Lock()
		a.results[s.App] = o
		a.mu.Unlock()
	}()
	if s.Blocked != "" {
		o.Err, o.Blocked = errors.New(s.Blocked), true
		a.emit(StepBlocked{App: s.App, Reason: s.Blocked})
		return
	}
	if s.Level == 0 { // a container to remove: undeclared, or its app renamed it
		a.doLocked(ctx, s, plan.Desired{App: &schema.App{ID: s.App, ContainerName: s.Container}}, o, start)
		return
	}
	d := a.desired[s.App]
	skip, err := a.waitForDependencies(ctx, d.App)
	switch {
	case err != nil:
		o.Err = err
		a.report(o, start)
		return
	case skip != "":
		o.Skipped = skip
		a.emit(StepSkipped{App: s.App, Reason: skip})
		return
	}
	a.doLocked(ctx, s, d, o, start)
}

// stopStep performs a step that only stops its app: it waits for no
// dependency.
func (a *applyRun) stopStep(ctx context.Context, s plan.Step) {
	start := time.Now()
	o := &Outcome{App: s.App}
	a.doLocked(ctx, s, a.desired[s.App], o, start)
	o.Duration = time.Since(start)
	a.mu.Lock()
	a.results[s.App] = o
	a.mu.Unlock()
}

// doLocked performs the step under the app's lock (see Applier.Lock).
func (a *applyRun) doLocked(ctx context.Context, s plan.Step, d plan.Desired, o *Outcome, start time.Time) {
	if a.Lock != nil {
		unlock, err := a.Lock(ctx, s.App)
		if err != nil {
			o.Err = err
			return
		}
		defer unlock()
		st, err := a.State.Load()
		if err != nil {
			o.Err = err
			a.report(o, start)
			return
		}
		var c *plan.Container
		switch found, err := a.Runtime.Inspect(ctx, s.Container); {
		case err == nil:
			c = &found
		case !errors.Is(err, ErrNotFound):
			o.Err = err
			a.report(o, start)
			return
		}
		seen := plan.Seen(c) // a removal of an undeclared app's container
		if s.Level > 0 {
			seen = plan.SeenAs(c, st.Apps[s.App])
		}
		if seen != s.Seen {
			o.Skipped, o.Stale = "its container or the operator's intent changed meanwhile; planning again", true
			return
		}
		if s.Target != "" && st.Apps[s.App].Held == s.Target && s.Has(plan.Recreate) {
			o.Skipped, o.Stale = "its target was held meanwhile (an upgrade to it was rolled back); planning again", true
			return
		}
	}
	o.Err = a.do(ctx, s, d, o)
	var rb *RollbackError
	o.RolledBack = errors.As(o.Err, &rb)
	a.report(o, start)
}

func (a *Applier) report(o *Outcome, start time.Time) {
	a.emit(StepDone{App: o.App, Done: o.Done, Took: time.Since(start), Err: o.Err})
}

// waitForDependencies returns why the app must be skipped (a dependency
// failed or was skipped: a knock-on, not a failure of its own), or an
// error when a dependency did not meet its condition in time.
func (a *applyRun) waitForDependencies(ctx context.Context, app *schema.App) (string, error) {
	for _, dep := range app.Dependencies {
		a.mu.Lock()
		res, attempted := a.results[dep.AppID]
		a.mu.Unlock()
		if attempted && res.RolledBack {
			return "held back: dependency " + dep.AppID + " was rolled back", nil
		}
		if attempted && res.Blocked {
			return "dependency " + dep.AppID + " was blocked", nil
		}
		if attempted && res.Err != nil {
			return "dependency " + dep.AppID + " failed", nil
		}
		if attempted && res.Skipped != "" && !res.Stale {
			return "dependency " + dep.AppID + " was skipped", nil
		}
	}
	for _, dep := range app.Dependencies {
		if err := a.dependencyReady(ctx, dep); err != nil {
			return "", fmt.Errorf("dependency %s is not %s: %w", dep.AppID, dep.Condition, err)
		}
	}
	return "", nil
}

// dependencyReady waits, once per app and condition, for a dependency to
// be started or healthy.
func (a *applyRun) dependencyReady(ctx context.Context, dep schema.Dependency) error {
	a.mu.Lock()
	key := dep.AppID + "/" + dep.Condition
	r, ok := a.ready[key]
	if !ok {
		r = &readiness{}
		a.ready[key] = r
	}
	a.mu.Unlock()
	app := a.desired[dep.AppID].App
	r.once.Do(func() {
		if app == nil {
			r.err = errors.New("not declared")
			return
		}
		wait := a.WaitTimeout
		if wait <= 0 {
			wait = 60 * time.Second
		}
		if dep.Condition == "started" {
			check := *app
			check.HealthCheck = nil // running is enough
			r.err = WaitHealthy(ctx, a.Runtime, &check, min(wait, 10*time.Second))
			return
		}
		r.err = WaitHealthy(ctx, a.Runtime, app, wait)
	})
	return r.err
}

// do performs one app's actions in order.
func (a *Applier) do(ctx context.Context, s plan.Step, d plan.Desired, o *Outcome) error {
	app := d.App
	rt := a.Runtime
	var pulledID string
	started := false // by Create or Recreate, which prove the new container
	beforeRan := false
	for _, act := range s.Actions {
		var err error
		switch act {
		case plan.Create, plan.Recreate, plan.Start, plan.RunJobs:
			// "before" jobs run ahead of the container's (re)creation or
			// start: failing, they leave the container as it was.
			if !beforeRan && len(s.Jobs) > 0 {
				beforeRan = true
				if err := a.runJobs(ctx, app, s.Jobs, schema.JobBefore); err != nil {
					return err
				}
			}
		}
		switch act {
		case plan.Build:
			src := app.Container.Source
			if err = a.checkImageSpace(ctx, "building", src.Tag); err != nil {
				break
			}
			a.emit(Building{App: app.ID, Tag: src.Tag, Context: src.Context})
			var built string
			built, err = rt.Build(ctx, BuildSpec{
				ContextDir: src.ContextDir, Dockerfile: src.Dockerfile, Tag: src.Tag, BuildArgs: src.BuildArgs,
				Labels: map[string]string{plan.LabelApp: app.ID, plan.LabelContextHash: d.ContextHash},
			}, a.output(app.ID))
			if err == nil {
				err = a.recordImage(built, src.Tag, app.ID, "built")
			}
			err = wrap(err, "building %s", app.ID)
		case plan.Pull:
			src := app.Container.Source
			if err = a.checkImageSpace(ctx, "pulling", src.Image); err != nil {
				break
			}
			a.emit(Pulling{App: app.ID, Image: src.Image})
			pulledID, err = a.pull(ctx, app, src.Image, src.PullPolicy)
			if err == nil && !s.Has(plan.Create) && !s.Has(plan.Recreate) {
				err = a.recreateIfNewImage(ctx, d, pulledID, o)
			}
		case plan.Adopt:
			err = a.updateState(func(st *state.State) {
				it := st.Apps[app.ID]
				it.Adopted = true
				st.Apps[app.ID] = it
			})
		case plan.Create:
			started = s.Has(plan.Start)
			err = a.create(ctx, d, started)
		case plan.Recreate:
			started = s.Has(plan.Start)
			err = a.replace(ctx, target(d), started)
		case plan.Start:
			if !started {
				err = a.start(ctx, app)
			}
		case plan.Stop:
			a.stopping(app.ID)
			err = ignoreNotFound(a.stopContainer(ctx, app, app.ContainerName))
		case plan.Remove: // an undeclared app's container (--prune)
			a.stopping(s.App)
			// An undeclared app's life ends with the apply (Node.Apply);
			// a renamed app's goes on.
			err = ignoreNotFound(a.removeUndeclared(ctx, s.App, s.Container))
		}
		if err != nil {
			return err
		}
		o.Done = append(o.Done, act)
	}
	return a.runAfterHealthy(ctx, s, app)
}

// runAfterHealthy runs the step's due after-healthy jobs once the app's
// container is healthy (running, without a health check). The step ends
// with them, so dependents (a later level) wait for them too.
func (a *Applier) runAfterHealthy(ctx context.Context, s plan.Step, app *schema.App) error {
	if !slices.ContainsFunc(app.Jobs, func(j schema.Job) bool {
		return j.Phase == schema.JobAfterHealthy && slices.Contains(s.Jobs, j.Name)
	}) {
		return nil
	}
	wait := a.WaitTimeout
	if wait <= 0 {
		wait = 60 * time.Second
	}
	if err := WaitHealthy(ctx, a.Runtime, app, max(wait, upgradeTimeout(app))); err != nil {
		return fmt.Errorf("not healthy for its after-healthy jobs: %w", err)
	}
	return a.runJobs(ctx, app, s.Jobs, schema.JobAfterHealthy)
}

// recreateIfNewImage recreates a container archy made after a pull
// (pull_policy always or newer) brought a different image than it runs,
// unless an upgrade to that image failed before (held). An adopted
// container is left alone: only archy upgrade replaces it.
func (a *Applier) recreateIfNewImage(ctx context.Context, d plan.Desired, imageID string, o *Outcome) error {
	c, err := a.Runtime.Inspect(ctx, d.App.ContainerName)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return err
	case c.ImageID == imageID || !plan.CreatedByArchy(&c, d.App.ID):
		return nil
	}
	st, err := a.State.Load()
	if err != nil {
		return err
	}
	it := st.Apps[d.App.ID]
	if it.Held != "" && it.Held == plan.TargetKey(d, &plan.Image{ID: imageID}) {
		a.emit(NewImagePulled{App: d.App.ID, Held: true})
		return nil
	}
	a.emit(NewImagePulled{App: d.App.ID})
	replace := func() error { return a.replace(ctx, target(d), !it.KeptStopped()) }
	if !it.KeptStopped() { // a replacement: every-upgrade jobs run around it
		err = a.withJobs(ctx, d.App, []plan.Action{plan.Recreate, plan.Start}, replace)
	} else {
		err = replace()
	}
	if err != nil {
		return err
	}
	o.Done = append(o.Done, plan.Recreate)
	return nil
}

// target is the catalogue's container for an app, as replace makes it.
func target(d plan.Desired) replacement {
	return replacement{app: d.App, image: d.App.Container.Source.ImageRef(), from: &d, secretsHash: d.SecretsHash}
}

// anonymousVolumes are the volumes mounted in c that the app does not
// declare, at places it does not declare.
func anonymousVolumes(c plan.Container, app *schema.App) []schema.Volume {
	declared := map[string]bool{}
	for _, v := range app.Volumes {
		declared[v.Target] = true
		declared[v.Name] = true
	}
	var out []schema.Volume
	for _, m := range c.Mounts {
		if m.Name != "" && !declared[m.Name] && !declared[m.Destination] {
			out = append(out, schema.Volume{Name: m.Name, Target: m.Destination})
		}
	}
	return out
}

// start starts a container and checks it did not exit at once.
func (a *Applier) start(ctx context.Context, app *schema.App) error {
	if err := a.Runtime.Start(ctx, app.ContainerName); err != nil {
		return err
	}
	return a.checkStarted(ctx, app)
}

// checkStarted checks that an app's container just started still runs.
func (a *Applier) checkStarted(ctx context.Context, app *schema.App) error {
	c, err := a.Runtime.Inspect(ctx, app.ContainerName)
	if err != nil {
		return err
	}
	if c.State != plan.StateRunning {
		return fmt.Errorf("%s %s (%d) right after it started; see archy logs %s", app.ContainerName, c.State, c.ExitCode, app.ID)
	}
	return nil
}

// updateState changes the state file; state.Store.Update serialises the
// changes of the steps that run side by side.
func (a *Applier) updateState(change func(*state.State)) error {
	return a.State.Update(change)
}

// wrap adds context to an error, or returns nil.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
