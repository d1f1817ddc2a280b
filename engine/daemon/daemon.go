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
	"io"
	"log/slog"
	"sync"
	"time"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine"
	"archy.dev/archy/engine/state"
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
	// ImagePruneInterval: a full reconcile at least this long after the
	// last removes the images archy made that nothing uses
	// (engine.Node.PruneImages); default a day.
	ImagePruneInterval time.Duration
	Parallel           int
	Log                *slog.Logger
	// Progress is told what the daemon's applies do (cmd/archy logs it
	// through view); nil: nowhere.
	Progress engine.Progress
	// Loaded is called once the apps are loaded, before Podman is reached
	// and anything reconciled: the daemon is up (sd_notify READY=1), and
	// its status says what it still waits for.
	Loaded func()
	// Reconciled is called once the first full reconcile is done.
	Reconciled func()
	// WatchExits watches the containers' processes to learn of a death
	// before Podman's event does; only for a Podman on this host.
	WatchExits bool
	// Version is archy's, for archy_build_info.
	Version string
}

// A death within this time after a stop or kill event was asked for (by
// someone): drift to undo at once, not a crash.
const externalWindow = 5 * time.Second

// firstConnectWait is how long ActAll waits for a daemon that has not
// reached Podman since it started (later outages fail it at once).
const firstConnectWait = 2 * time.Minute

// delays are the daemon's waits: a field rather than constants so that
// its tests can run a crash loop in milliseconds.
type delays struct {
	// Crash-loop backoff: backoffFirst doubling to backoffMax; reset
	// after backoffReset running.
	backoffFirst, backoffMax, backoffReset time.Duration
	// crashSettle is how long a death waits for the stop or restart
	// event that would explain it.
	crashSettle time.Duration
}

func defaultDelays() delays {
	return delays{backoffFirst: time.Second, backoffMax: 5 * time.Minute, backoffReset: 10 * time.Minute,
		crashSettle: 300 * time.Millisecond}
}

// Daemon is a running archy converge.
type Daemon struct {
	cfg     Config
	delays  delays
	log     *slog.Logger
	bus     engine.Bus
	metrics *metrics
	exits   *exitWatcher // nil unless Config.WatchExits

	ctx   context.Context // Run's: work scheduled by events and timers ends with it
	locks state.AppLocks
	host  hostLock
	fullq chan chan error // full reconciles, one at a time
	alive chan chan struct{}
	// connected is closed once Podman was first reached.
	connected     chan struct{}
	connectedOnce sync.Once

	mu        sync.Mutex // guards the fields below
	rt        engine.Runtime
	node      *engine.Node
	cat       *catalog.Catalog // the last good apps
	configErr string
	degraded  string
	// stateErr: why the state file is unusable (no container is touched
	// meanwhile); stateFallbacks: the fallbacks to state.json.prev
	// reported, each once.
	stateErr       string
	stateFallbacks map[string]bool
	apps           map[string]*appState // by app id
	byName         map[string]string    // container name -> app id
	lastEvent      time.Time
	stamp          string                    // of the files last read, accepted or rejected
	acting         map[string]bool           // apps an action (stop, restart, …) works on now
	runs           map[string]*appRun        // app reconciles under way
	watched        map[string]plan.Container // by app: the container whose process is watched
	// blocks: by app, the block (or its knock-on skip) last reported:
	// reported once, not on every reconcile while it lasts.
	blocks map[string]string
	// jobFails: by app, the job failure last reported (once per message).
	jobFails map[string]string
	// imagesPruned is when the full worker last removed unused images
	// (its own field: only the full worker reads it).
	imagesPruned time.Time
}

// appState is what the daemon tracks per app.
// forget drops the probes' look at the app's container (runningContainer);
// d.mu is held.
func (st *appState) forget() { st.running, st.forgotAt = nil, time.Now() }

type appState struct {
	crashes      int       // consecutive crashes
	restarts     int       // restarts the daemon made
	startedAt    time.Time // when archy last started it
	backoffUntil time.Time
	jobFailures  int       // consecutive reconciles failed by a job
	externalAt   time.Time // last stop or kill event
	// ownStopUntil: archy itself is stopping the app, which may take
	// its whole stop timeout; a death until then is that stop's.
	ownStopUntil time.Time
	unhealthy    int // consecutive failed probes
	healthErr    string
	health       string // the last probe's engine.Healthy, Starting or Unhealthy
	probedID     string // the container it probed
	// running is the app's container as an inspect found it running,
	// at runningAt: the probes' look at it until an event (or the exit
	// watcher) says it changed, or runningTTL passes.
	running   *plan.Container
	runningAt time.Time
	forgotAt  time.Time   // the last forget: an inspect asked before it is stale
	note      string      // what the last starting answer said
	timer     *time.Timer // a reconcile scheduled after backoff
	// healedAt: the last quick restart (after its process was seen to
	// end, before Podman's event said why). A crash may have one quick
	// restart; fastUsed then sends the next one through the backoff,
	// until it runs well again.
	healedAt time.Time
	fastUsed bool
	// down says how the app went down behind archy's back (killed,
	// crashed), kept until it serves again: the status page's banner
	// outlives a restart that is quicker than the page.
	down      string
	downSince time.Time
	// failure is archy's last failed step on the app, until one succeeds.
	failure   string
	failureAt time.Time
	// eventAt is Podman's time of the newest event handled for the app,
	// recent the last events handled, and startFloor (until an event
	// comes) the start of its container as a reconcile found it: they
	// tell history, replayed after a reconnect or when Podman rotates its
	// event log, from news (see replayed). Podman's clock, not archy's:
	// each event carries its own time.
	eventAt    time.Time
	recent     []eventKey
	startFloor time.Time
	// diedID is the container whose death was last handled, until a
	// container starts: Podman reports some deaths twice.
	diedID string
	// removed are the app's containers removed lately (by anyone; the
	// last few): a death that its container's removal explains (podman
	// rm -f) is drift, not a crash.
	removed []string
}

// New makes a daemon; Run starts it.
func New(cfg Config) *Daemon {
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.ImagePruneInterval <= 0 {
		cfg.ImagePruneInterval = 24 * time.Hour
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	d := &Daemon{
		cfg: cfg, delays: defaultDelays(), log: cfg.Log, metrics: newMetrics(cfg.Version),
		fullq: make(chan chan error, 1),
		alive: make(chan chan struct{}), connected: make(chan struct{}),
		degraded: "not connected to podman yet",
		apps:     map[string]*appState{}, byName: map[string]string{},
		acting: map[string]bool{}, runs: map[string]*appRun{}, watched: map[string]plan.Container{},
		imagesPruned: time.Now(),
	}
	if cfg.WatchExits {
		d.exits = newExitWatcher(d.onProcessExit)
	}
	return d
}

func (d *Daemon) runtime() engine.Runtime {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rt
}
