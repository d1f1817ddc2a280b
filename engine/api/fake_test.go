package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
)

// fake is a Controller with canned answers. The daemon's real behaviour
// is tested against Podman in engine/daemon; here only the translation
// between HTTP and the Controller is under test.
type fake struct {
	mu         sync.Mutex
	status     engine.NodeStatus
	statusErr  error
	plan       plan.Plan
	planErr    error
	reconciles int
	reconErr   error
	acts       []act
	actErr     map[string]error // by app
	actDelay   time.Duration
	inFlight   map[string]int // acts running, by app
	maxFlight  int            // most acts running on one app at once
	logs       map[string]string
	logErr     error       // returned after the logs are written
	follow     chan string // lines written while following
	logsEnded  chan error  // what Logs returned
	health     map[string]error
	locks      map[string]*sync.Mutex
	bus        engine.Bus
	subs       int // open subscriptions
	metricsH   http.Handler
	allActs    []engine.Action  // ActAll's calls
	allResult  engine.AllResult // what ActAll answers
	// afterAct, if set, changes the status as a successful act would
	// (called with mu held).
	afterAct func(*engine.NodeStatus, act)
}

type act struct {
	App    string
	Action engine.Action
	Purge  bool
}

var _ Controller = (*fake)(nil)

func newFake() *fake {
	return &fake{
		status: engine.NodeStatus{Apps: []engine.AppStatus{
			{App: "bitcoin-core", Container: "bitcoin-core", State: "running", Health: "healthy", Image: "localhost/bitcoin-core:local"},
			{App: "bitcoin-ui", Container: "archy-bitcoin-ui", State: "exited", ExitCode: 137, Image: "localhost/bitcoin-ui:local",
				Intent: []string{"stopped"}, URL: "http://127.0.0.1:8334/", Restarts: 3,
				BackoffUntil: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), Degraded: "dependency bitcoin-core is down or unhealthy"},
		}},
		plan: plan.Plan{Fingerprint: "f00", Steps: []plan.Step{
			{App: "bitcoin-core", Container: "bitcoin-core", Level: 1, Actions: []plan.Action{}, Reasons: []string{}},
			{App: "bitcoin-ui", Container: "archy-bitcoin-ui", Level: 2, Actions: []plan.Action{plan.Build, plan.Recreate, plan.Start},
				Reasons: []string{"build context changed"}},
		}},
		actErr:    map[string]error{},
		inFlight:  map[string]int{},
		logs:      map[string]string{"bitcoin-core": "line 1\nline 2\nline 3\n"},
		logsEnded: make(chan error, 16),
		health:    map[string]error{"bitcoin-ui": errors.New("archy-bitcoin-ui is exited")},
		locks:     map[string]*sync.Mutex{},
	}
}

// known mimics engine's verbs: an unknown app is a plain error, as
// engine.Node's verbs return it, so the server has to work out the 404.
func (f *fake) known(app string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status.Degraded != "" { // as the daemon's worker: nothing goes while degraded
		return errors.New(f.status.Degraded)
	}
	for _, a := range f.status.Apps {
		if a.App == app {
			return nil
		}
	}
	return fmt.Errorf("no app %q in /etc/archy/apps", app)
}

func (f *fake) Status(ctx context.Context) (engine.NodeStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ns := f.status
	if ns.Degraded != "" {
		ns.Apps = nil // as the daemon: no app states while Podman is away
	}
	return ns, f.statusErr
}

func (f *fake) Plan(ctx context.Context) (plan.Plan, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.plan, f.planErr
}

func (f *fake) Reconcile(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reconciles++
	return f.reconErr
}

func (f *fake) Act(ctx context.Context, app string, action engine.Action, purge bool) error {
	if err := f.known(app); err != nil {
		return err
	}
	// One action per app at a time, as the daemon's per-app lock does.
	f.mu.Lock()
	l := f.locks[app]
	if l == nil {
		l = &sync.Mutex{}
		f.locks[app] = l
	}
	f.mu.Unlock()
	l.Lock()
	defer l.Unlock()
	f.mu.Lock()
	f.inFlight[app]++
	f.maxFlight = max(f.maxFlight, f.inFlight[app])
	delay := f.actDelay
	f.mu.Unlock()
	select {
	case <-time.After(delay):
	case <-ctx.Done():
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inFlight[app]--
	if ctx.Err() != nil {
		return ctx.Err()
	}
	f.acts = append(f.acts, act{app, action, purge})
	if f.afterAct != nil && f.actErr[app] == nil {
		f.afterAct(&f.status, act{app, action, purge})
	}
	return f.actErr[app]
}

func (f *fake) Logs(ctx context.Context, app string, tail int, follow bool, w io.Writer) (err error) {
	defer func() { f.logsEnded <- err }()
	f.mu.Lock()
	text, ok := f.logs[app]
	lines, logErr := f.follow, f.logErr
	f.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %q", catalog.ErrUnknownApp, app)
	}
	if tail >= 0 {
		text = lastLines(text, tail)
	}
	if _, err := io.WriteString(w, text); err != nil {
		return err
	}
	if logErr != nil {
		return logErr
	}
	if !follow {
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case l := <-lines:
			if _, err := io.WriteString(w, l+"\n"); err != nil {
				return err
			}
		}
	}
}

func lastLines(text string, n int) string {
	end := len(text)
	for i := len(text) - 2; i >= 0; i-- {
		if text[i] == '\n' {
			n--
			if n == 0 {
				return text[i+1 : end]
			}
		}
	}
	if n <= 0 {
		return ""
	}
	return text
}

func (f *fake) Health(ctx context.Context, app string) error {
	if err := f.known(app); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.health[app]
}

func (f *fake) Subscribe(r engine.Replay) ([]engine.Event, <-chan engine.Event, func()) {
	missed, ch, stop := f.bus.SubscribeFrom(r)
	f.mu.Lock()
	f.subs++
	f.mu.Unlock()
	var once sync.Once
	return missed, ch, func() {
		once.Do(func() {
			stop()
			f.mu.Lock()
			f.subs--
			f.mu.Unlock()
		})
	}
}

func (f *fake) openSubs() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.subs
}

func (f *fake) Metrics() http.Handler { return f.metricsH }

func withKeepalive(d time.Duration) Option {
	return func(s *server) { s.keepalive = d }
}

// serve runs the API for f on a socket in a temp dir until the test ends,
// and returns the socket's path.
func serve(t *testing.T, f *fake, opts ...Option) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "run", "archy.sock")
	serveAt(t, sock, NewServer(f, slog.New(slog.DiscardHandler), opts...))
	return sock
}

func serveAt(t *testing.T, sock string, h http.Handler) context.CancelFunc {
	t.Helper()
	l, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, h) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return cancel
}

func dial(t *testing.T, sock string) *Client {
	t.Helper()
	c, err := Dial(context.Background(), sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (f *fake) ActAll(ctx context.Context, action engine.Action) (engine.AllResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status.Degraded != "" {
		return engine.AllResult{}, fmt.Errorf("%w: %s", engine.ErrDegraded, f.status.Degraded)
	}
	f.allActs = append(f.allActs, action)
	return f.allResult, nil
}
