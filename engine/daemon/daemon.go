// Package daemon is archy converge: it keeps the node converged for as
// long as it runs. Podman events trigger a reconcile of the app concerned
// at once; archy's own health probes restart apps that stay unhealthy; a
// full reconcile runs every interval as the safety net; crashing apps back
// off. Work on an app, whoever asks for it (the loop, the API, the CLI
// through the API), holds that app's lock, so it never overlaps other work
// on the same app while different apps proceed side by side.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine"
	"archy.dev/archy/engine/api"
	"archy.dev/archy/plan"
)

// Config is what the daemon needs.
type Config struct {
	Apps        string
	Catalog     catalog.Options
	DataDir     string
	SecretsFile string
	// Connect opens the Podman connection; the daemon retries it with
	// backoff while Podman is away.
	Connect  func(ctx context.Context) (engine.Runtime, error)
	Interval time.Duration // full reconcile; default 30 s
	Parallel int
	Log      *slog.Logger
	// Ready is called once the first full reconcile is done (sd_notify).
	Ready func()
	// WatchExits watches the containers' processes to learn of a death
	// before Podman's event does; only for a Podman on this host.
	WatchExits bool
}

// Crash-loop backoff: 1 s doubling to 5 min; reset after 10 min running.
const (
	backoffFirst = time.Second
	backoffMax   = 5 * time.Minute
	backoffReset = 10 * time.Minute
	// A death within this time after a stop or kill event was asked for
	// (by someone): drift to undo at once, not a crash.
	externalWindow = 5 * time.Second
)

// Daemon is a running archy converge.
type Daemon struct {
	cfg     Config
	log     *slog.Logger
	bus     engine.Bus
	metrics *metrics
	exits   *exitWatcher // nil unless Config.WatchExits

	ctx   context.Context // Run's: work scheduled by events and timers ends with it
	locks engine.AppLocks
	host  hostLock
	fullq chan chan error // full reconciles, one at a time
	alive chan chan struct{}

	mu        sync.Mutex // guards the fields below
	rt        engine.Runtime
	node      *engine.Node
	cat       *catalog.Catalog // the last good apps
	configErr string
	degraded  string
	apps      map[string]*appState // by app id
	byName    map[string]string    // container name -> app id
	lastEvent time.Time
	stamp     string                    // of the files the last good config was read from
	acting    map[string]bool           // apps an action (stop, restart, …) works on now
	runs      map[string]*appRun        // app reconciles under way
	watched   map[string]plan.Container // by app: the container whose process is watched
}

// appState is what the daemon tracks per app.
type appState struct {
	crashes      int       // consecutive crashes
	restarts     int       // restarts the daemon made
	startedAt    time.Time // when archy last started it
	backoffUntil time.Time
	externalAt   time.Time // last stop or kill event
	diedID       string    // the container of the last death seen, and its event time
	diedAt       time.Time
	unhealthy    int // consecutive failed probes
	healthErr    string
	timer        *time.Timer // a reconcile scheduled after backoff
	// healedAt: the last quick restart (after its process was seen to
	// end, before Podman's event said why). A crash may have one quick
	// restart; fastUsed then sends the next one through the backoff,
	// until it runs well again.
	healedAt time.Time
	fastUsed bool
}

// New makes a daemon; Run starts it.
func New(cfg Config) *Daemon {
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	d := &Daemon{
		cfg: cfg, log: cfg.Log, metrics: newMetrics(),
		fullq:    make(chan chan error, 1),
		alive:    make(chan chan struct{}),
		degraded: "starting: not connected to podman yet",
		apps:     map[string]*appState{}, byName: map[string]string{},
		acting: map[string]bool{}, runs: map[string]*appRun{}, watched: map[string]plan.Container{},
	}
	if cfg.WatchExits {
		d.exits = newExitWatcher(d.onProcessExit)
	}
	return d
}

// Run loads the apps, connects to Podman, reconciles everything and then
// keeps the node converged until ctx ends. Containers keep running when it
// returns.
func (d *Daemon) Run(ctx context.Context) error {
	cat, err := catalog.Load(d.cfg.Apps, d.cfg.Catalog)
	if err != nil {
		return err // nothing good to run yet
	}
	d.setCatalog(cat)
	if err := d.connect(ctx); err != nil {
		return err
	}
	d.ctx = ctx
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); d.fullWorker(ctx) }()
	go func() { defer wg.Done(); d.watchEvents(ctx) }()
	go func() { defer wg.Done(); d.probeLoop(ctx) }()

	if err := d.reconcileAll(ctx); err != nil {
		d.log.Error("first reconcile", "err", err)
	}
	if d.cfg.Ready != nil {
		d.cfg.Ready()
	}
	d.log.Info("converging", "apps", len(cat.Apps), "interval", d.cfg.Interval)
	tick := time.NewTicker(d.cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			if d.exits != nil {
				d.exits.Close()
			}
			d.log.Info("stopped; containers keep running")
			return nil
		case <-tick.C:
			d.reload()
			d.enqueueFull()
		case reply := <-d.alive:
			d.mu.Lock() // a deadlock on the daemon's state shows here too
			d.mu.Unlock()
			close(reply)
		}
	}
}

// connect opens the Podman connection, retrying with backoff while Podman
// is away; the daemon reports itself degraded meanwhile.
func (d *Daemon) connect(ctx context.Context) error {
	op := func() (engine.Runtime, error) {
		rt, err := d.cfg.Connect(ctx)
		if err != nil {
			d.setDegraded("podman unreachable: " + err.Error())
			return nil, err
		}
		return rt, nil
	}
	rt, err := backoff.Retry(ctx, op,
		backoff.WithBackOff(&backoff.ExponentialBackOff{
			InitialInterval: 200 * time.Millisecond, RandomizationFactor: 0.2, Multiplier: 2, MaxInterval: 5 * time.Second,
		}),
		backoff.WithMaxElapsedTime(0))
	if err != nil {
		return err
	}
	secrets, err := engine.NewSecrets(d.cfg.DataDir, d.cfg.SecretsFile)
	if err != nil {
		return err
	}
	d.mu.Lock()
	if old, ok := d.rt.(io.Closer); ok { // a reconnect: drop the dead connection
		old.Close()
	}
	d.rt = rt
	d.node = &engine.Node{Runtime: rt, State: engine.StateStore{Dir: d.cfg.DataDir}, Secrets: secrets}
	d.mu.Unlock()
	d.setDegraded("")
	return nil
}

func (d *Daemon) setDegraded(why string) {
	d.mu.Lock()
	changed := d.degraded != why
	d.degraded = why
	d.mu.Unlock()
	if !changed {
		return
	}
	d.metrics.connected.Set(boolGauge(why == ""))
	if why == "" {
		d.publish(engine.Event{Type: engine.EventPodman, Message: "connected to podman"})
	} else {
		d.publish(engine.Event{Type: engine.EventPodman, Message: why})
	}
}

// setCatalog installs a good catalogue.
func (d *Daemon) setCatalog(cat *catalog.Catalog) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cat = cat
	d.configErr = ""
	d.byName = map[string]string{}
	for id, app := range cat.Apps {
		d.byName[app.ContainerName] = id
		if d.apps[id] == nil {
			d.apps[id] = &appState{}
		}
	}
}

// reload re-reads the apps; an invalid edit keeps the last good ones and
// is reported, touching nothing.
func (d *Daemon) reload() {
	// Evaluating CUE is the daemon's costliest work: skip it while no app
	// file (nor the secrets file) changed.
	stamp := filesStamp(d.cfg.Apps, d.cfg.SecretsFile)
	d.mu.Lock()
	same := stamp != "" && stamp == d.stamp
	d.mu.Unlock()
	if same {
		return
	}
	cat, err := catalog.Load(d.cfg.Apps, d.cfg.Catalog)
	if err != nil {
		d.mu.Lock()
		changed := d.configErr != err.Error()
		d.configErr = err.Error()
		d.mu.Unlock()
		if changed {
			d.log.Error("apps rejected; keeping the last good ones", "err", err)
			d.publish(engine.Event{Type: engine.EventConfig, Message: "apps rejected; keeping the last good ones: " + err.Error()})
		}
		return
	}
	// Secret values may have changed too: a changed value recreates its
	// consumers on this reconcile.
	if secrets, err := engine.NewSecrets(d.cfg.DataDir, d.cfg.SecretsFile); err != nil {
		d.log.Error("secrets file rejected; keeping the last good values", "err", err)
	} else {
		d.mu.Lock()
		if d.node != nil {
			d.node = &engine.Node{Runtime: d.node.Runtime, State: d.node.State, Secrets: secrets}
		}
		d.mu.Unlock()
	}
	d.mu.Lock()
	hadErr := d.configErr != ""
	d.stamp = stamp
	d.mu.Unlock()
	d.setCatalog(cat)
	if hadErr {
		d.publish(engine.Event{Type: engine.EventConfig, Message: "apps valid again"})
	}
}

// filesStamp identifies the state of the .cue files of dir and of the
// secrets file by name, size and modification time ("" if unreadable).
func filesStamp(dir, secretsFile string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	var b strings.Builder
	add := func(path string) {
		if fi, err := os.Stat(path); err == nil {
			fmt.Fprintf(&b, "%s %d %d\n", path, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".cue") {
			add(filepath.Join(dir, e.Name()))
		}
	}
	if secretsFile != "" {
		add(secretsFile)
	}
	return b.String()
}

// publish logs an event and sends it to the API's subscribers.
func (d *Daemon) publish(e engine.Event) {
	level := slog.LevelInfo
	if e.Type == engine.EventFailure || e.Type == engine.EventBackoff || e.Type == engine.EventPodman {
		level = slog.LevelWarn
	}
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
	d.holdBackingOff(&pl)
	if pl.Plan.Changes() == 0 && !blocked(pl.Plan) {
		return nil
	}
	scope := "all apps"
	if len(only) > 0 {
		scope = only[0]
	}
	d.publish(engine.Event{Type: engine.EventReconcile, Message: fmt.Sprintf("reconciling %s: %d changes", scope, pl.Plan.Changes())})
	for _, s := range pl.Plan.Steps {
		if s.Has(plan.Recreate) { // an upgrade: it may take a while (build, proof)
			d.publish(engine.Event{Type: engine.EventStep, App: s.App,
				Message: "upgrading (" + actionsText(s.Actions) + "): " + strings.Join(s.Reasons, "; ")})
		}
	}
	a := d.applier(rt, node, d.locks.Lock)
	a.Parallel = d.cfg.Parallel
	rep, err := node.Apply(ctx, pl, a)
	if err != nil {
		return err
	}
	for _, o := range rep.Outcomes {
		switch {
		case o.Stale:
			d.enqueueApp(o.App, false) // someone else acted on it: look again
		case o.RolledBack:
			d.metrics.failures.WithLabelValues(o.App).Inc()
			d.metrics.rollbacks.WithLabelValues(o.App).Inc()
			d.publish(engine.Event{Type: engine.EventRollback, App: o.App, Message: o.Err.Error()})
		case o.Err != nil:
			d.metrics.failures.WithLabelValues(o.App).Inc()
			d.publish(engine.Event{Type: engine.EventFailure, App: o.App, Message: o.Err.Error()})
		case o.Skipped != "":
			d.publish(engine.Event{Type: engine.EventFailure, App: o.App, Message: "skipped: " + o.Skipped})
		case len(o.Done) > 0:
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
				err = node.Restart(ctx, cat, dep.ID, d.applier(rt, node, nil))
				if err == nil {
					d.recordStarted(engine.Outcome{App: dep.ID, Done: []plan.Action{plan.Start}})
				}
				return err
			}))
		}
	}
}

// applier is an Applier for the daemon's work: progress to the log, and
// archy's own stops known as such (no crash).
func (d *Daemon) applier(rt engine.Runtime, node *engine.Node, lock func(context.Context, string) (func(), error)) *engine.Applier {
	return &engine.Applier{Runtime: rt, State: node.State, Out: &logWriter{log: d.log}, Lock: lock, Stopping: d.expectStop}
}

// recover finishes the upgrades a killed archy left half done (see
// engine.Node.Recover): before each full reconcile (the first one at
// start) and each plan of one app.
func (d *Daemon) recover(ctx context.Context, node *engine.Node, rt engine.Runtime, cat *catalog.Catalog) {
	if err := node.Recover(ctx, cat, d.applier(rt, node, d.locks.Lock)); err != nil {
		d.log.Error("recovering an interrupted upgrade", "err", err)
		d.publish(engine.Event{Type: engine.EventFailure, Message: err.Error()})
	}
}

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
	node, cat, degraded, configErr := d.node, d.cat, d.degraded, d.configErr
	d.mu.Unlock()
	ns := engine.NodeStatus{Degraded: degraded, ConfigError: configErr}
	if node == nil || degraded != "" {
		return ns, nil
	}
	apps, err := node.Status(ctx, cat)
	if err != nil {
		return ns, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	unhealthy := map[string]bool{}
	for _, a := range apps {
		if a.State != plan.StateRunning || (a.Health != "" && a.Health != "healthy") {
			unhealthy[a.App] = true
		}
	}
	for i, a := range apps {
		if st := d.apps[a.App]; st != nil {
			apps[i].Restarts = st.restarts
			if time.Now().Before(st.backoffUntil) {
				apps[i].BackoffUntil = st.backoffUntil
			}
		}
		for _, dep := range cat.Apps[a.App].Dependencies {
			if unhealthy[dep.AppID] {
				apps[i].Degraded = "dependency " + dep.AppID + " is down or unhealthy"
			}
		}
	}
	ns.Apps = apps
	return ns, nil
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
		// The app's own lock is held already; the apps it depends on (which
		// start brings up too) are locked step by step.
		a := d.applier(rt, node, d.lockOthers(app))
		var err error
		var rep engine.Report
		switch action {
		case engine.ActStop:
			err = node.Stop(ctx, cat, app, a)
		case engine.ActStart:
			d.clearBackoff(st)
			rep, err = node.Start(ctx, cat, app, a)
		case engine.ActRestart:
			d.clearBackoff(st)
			err = node.Restart(ctx, cat, app, a)
		case engine.ActInstall: // like start: clears a stop or removal
			d.clearBackoff(st)
			rep, err = node.Start(ctx, cat, app, a)
		case engine.ActUpgrade:
			rep, err = node.Upgrade(ctx, cat, app, a)
		case engine.ActRemove:
			err = node.Remove(ctx, cat, app, purge)
		default:
			return fmt.Errorf("unknown action %q", action)
		}
		if err == nil {
			err = rep.Err()
		}
		msg, typ := string(action)+" done", engine.EventStep
		var rb *engine.RollbackError
		switch {
		case errors.As(err, &rb):
			msg, typ = string(action)+": "+err.Error(), engine.EventRollback
			d.metrics.rollbacks.WithLabelValues(app).Inc()
		case err != nil:
			msg = string(action) + " failed: " + err.Error()
		}
		d.publish(engine.Event{Type: typ, App: app, Message: msg})
		return err
	})
}

// expectStop notes that archy itself is about to stop an app, so that its
// death is not taken for a crash.
func (d *Daemon) expectStop(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if st := d.apps[id]; st != nil {
		st.externalAt = time.Now()
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

// Subscribe streams the daemon's events.
func (d *Daemon) Subscribe() (<-chan engine.Event, func()) { return d.bus.Subscribe() }

// Metrics serves the daemon's Prometheus metrics.
func (d *Daemon) Metrics() http.Handler {
	return promhttp.HandlerFor(d.metrics.registry, promhttp.HandlerOpts{})
}

func blocked(p plan.Plan) bool {
	for _, s := range p.Steps {
		if s.Blocked != "" {
			return true
		}
	}
	return false
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

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// logWriter turns apply's progress lines into log records.
type logWriter struct{ log *slog.Logger }

func (w *logWriter) Write(p []byte) (int, error) {
	w.log.Info(string(trimNewline(p)))
	return len(p), nil
}

func trimNewline(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}

// metrics are the daemon's Prometheus metrics.
type metrics struct {
	registry         *prometheus.Registry
	reconcileSeconds prometheus.Histogram
	steps            *prometheus.CounterVec
	failures         *prometheus.CounterVec
	restarts         *prometheus.CounterVec
	rollbacks        *prometheus.CounterVec
	up               *prometheus.GaugeVec
	healthy          *prometheus.GaugeVec
	backoff          *prometheus.GaugeVec
	connected        prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		reconcileSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "archy_reconcile_duration_seconds", Help: "Time a reconcile took.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}),
		steps:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "archy_steps_total", Help: "Actions done, by kind."}, []string{"action"}),
		failures:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "archy_failures_total", Help: "Failed reconciles of an app."}, []string{"app"}),
		restarts:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "archy_restarts_total", Help: "Times archy (re)started an app."}, []string{"app"}),
		rollbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "archy_rollbacks_total", Help: "Upgrades that failed their proof and were rolled back."}, []string{"app"}),
		up:        prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "archy_app_up", Help: "1 when the app's container runs."}, []string{"app"}),
		healthy:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "archy_app_healthy", Help: "1 when the app's last probe passed."}, []string{"app"}),
		backoff:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "archy_app_backoff_seconds", Help: "Seconds until archy restarts a crashing app again."}, []string{"app"}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "archy_podman_connected", Help: "1 while archy can reach Podman."}),
	}
	m.registry.MustRegister(m.reconcileSeconds, m.steps, m.failures, m.restarts, m.rollbacks, m.up, m.healthy, m.backoff, m.connected,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

var _ api.Controller = (*Daemon)(nil)

func (d *Daemon) runtime() engine.Runtime {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rt
}
