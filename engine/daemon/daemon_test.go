package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"archy.dev/archy/engine"
	"archy.dev/archy/engine/enginetest"
	"archy.dev/archy/plan"
)

// These tests run the daemon on the fake runtime: its decisions (crash or
// drift, backoff, heal, reload), not Podman's behaviour, which the
// converge_* scripts of cmd/archy test against real Podman. Nothing here
// sleeps for a time it then asserts on: each step waits for the event or
// the state it expects, with a generous deadline only against a hang.

const patience = 10 * time.Second

// testDelays make a crash loop take milliseconds; a reset needs an hour
// (TestBackoffResetsAfterRunningWell moves the start back instead).
var testDelays = delays{backoffFirst: 10 * time.Millisecond, backoffMax: 40 * time.Millisecond,
	backoffReset: time.Hour, crashSettle: 20 * time.Millisecond}

type node struct {
	t      *testing.T
	d      *Daemon
	rt     *enginetest.Fake
	apps   string // the apps directory
	events <-chan engine.Event
	seen   []engine.Event // every event read so far
	stop   func()         // stops the daemon (and is done at the test's end)
	data   string         // its data dir
}

// writeApp declares a service pulled from example.org.
func writeApp(t *testing.T, dir, id string) {
	t.Helper()
	src := fmt.Sprintf(`package apps

apps: %[1]q: {
	name:    %[1]q
	version: "1"
	role:    "service"
	container: source: {type: "pull", image: "example.org/%[1]s:1"}
	upgrade: grace_period: "10ms" // a recreated container's proof
}
`, id)
	if err := os.WriteFile(filepath.Join(dir, id+".cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// start runs a daemon for apps on a fake, once its first reconcile is
// done and it follows the fake's events.
func start(t *testing.T, apps ...string) *node {
	t.Helper()
	return startWith(t, func(dir string) {
		for _, id := range apps {
			writeApp(t, dir, id)
		}
	})
}

// startWith is start with the apps write puts in the apps directory.
func startWith(t *testing.T, write func(dir string)) *node {
	t.Helper()
	return startOn(t, enginetest.New(), write)
}

// startOn is startWith on a fake prepared beforehand.
func startOn(t *testing.T, rt *enginetest.Fake, write func(dir string)) *node {
	t.Helper()
	return startSeeded(t, rt, nil, write)
}

// startSeeded is startOn with seed filling the data dir first (the state
// of an earlier daemon).
func startSeeded(t *testing.T, rt *enginetest.Fake, seed func(data string), write func(dir string)) *node {
	t.Helper()
	appsDir := filepath.Join(t.TempDir(), "apps")
	if err := os.Mkdir(appsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(appsDir)
	// Not t.TempDir: a timer of the daemon may still touch its data dir
	// while the test cleans up.
	data, err := os.MkdirTemp("", "archy-daemon-test")
	if err != nil {
		t.Fatal(err)
	}
	if seed != nil {
		seed(data)
	}
	ready := make(chan struct{})
	d := New(Config{Apps: appsDir, DataDir: data, Interval: time.Hour, Reconciled: func() { close(ready) },
		Connect: func(context.Context) (engine.Runtime, error) { return rt, nil }})
	d.delays = testDelays
	_, events, unsubscribe := d.Subscribe(engine.Replay{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	stop := sync.OnceFunc(func() {
		cancel()
		<-done
		unsubscribe()
		os.RemoveAll(data)
	})
	t.Cleanup(stop)
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(patience):
		t.Fatal("no first reconcile")
	}
	n := &node{t: t, d: d, rt: rt, apps: appsDir, events: events, stop: stop, data: data}
	// The first reconcile's events are in by Reconciled: the tests wait for
	// later ones.
	for drained := false; !drained; {
		select {
		case e := <-events:
			n.seen = append(n.seen, e)
		default:
			drained = true
		}
	}
	n.poll("the daemon to follow events", func() bool { return rt.Watchers() > 0 })
	return n
}

// poll waits until cond holds.
func (n *node) poll(what string, cond func() bool) {
	n.t.Helper()
	for deadline := time.Now().Add(patience); !cond(); {
		if time.Now().After(deadline) {
			n.t.Fatalf("timed out waiting for %s; events: %v", what, n.seen)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitFor reads events until one of app's has type typ and a message
// containing msg.
func (n *node) waitFor(app, typ, msg string) engine.Event {
	n.t.Helper()
	timeout := time.After(patience)
	for {
		select {
		case e := <-n.events:
			n.seen = append(n.seen, e)
			if e.App == app && e.Type == typ && strings.Contains(e.Message, msg) {
				return e
			}
		case <-timeout:
			n.t.Fatalf("no %s event %q for %s; events: %v", typ, msg, app, n.seen)
		}
	}
}

// saw reports whether an event of app's so far has type typ and a
// message containing msg.
func (n *node) saw(app, typ, msg string) bool {
	for _, e := range n.seen {
		if e.App == app && e.Type == typ && strings.Contains(e.Message, msg) {
			return true
		}
	}
	return false
}

func (n *node) container(id string) string {
	n.d.mu.Lock()
	defer n.d.mu.Unlock()
	return n.d.cat.Apps[id].ContainerName
}

func (n *node) state(id string) string {
	c, err := n.rt.Inspect(context.Background(), n.container(id))
	if err != nil {
		return "missing"
	}
	return c.State
}

// restarted waits for the daemon to report that it started id again
// (after it recorded the start: its crash accounting is done).
func (n *node) restarted(id string) {
	n.t.Helper()
	n.waitFor(id, engine.EventStep, "start")
	if s := n.state(id); s != plan.StateRunning {
		n.t.Fatalf("%s is %s after its restart", id, s)
	}
}

func TestFirstReconcileStartsEverything(t *testing.T) {
	n := start(t, "core", "ui")
	for _, id := range []string{"core", "ui"} {
		if s := n.state(id); s != plan.StateRunning {
			t.Errorf("%s is %s", id, s)
		}
	}
}

// crash crashes id with code and waits until the daemon started it again:
// at once when backoff is "", else after backing off that long.
func (n *node) crash(id string, code int, backoff string) engine.Event {
	n.t.Helper()
	n.rt.Crash(n.container(id), code)
	var e engine.Event
	if backoff == "" {
		e = n.waitFor(id, engine.EventFailure, fmt.Sprintf("exited (%d) on its own; restart", code)) // -ed or -ing at once
	} else {
		e = n.waitFor(id, engine.EventBackoff, fmt.Sprintf("exited (%d) on its own; restarting in %s", code, backoff))
	}
	n.restarted(id)
	return e
}

// A crash is answered at once the first time; the next ones back off,
// doubling up to the cap.
func TestCrashLoopBacksOff(t *testing.T) {
	n := start(t, "core")
	n.crash("core", 3, "")
	for i, want := range []string{"10ms", "20ms", "40ms", "40ms"} {
		if e := n.crash("core", 3, want); e.Fields["delay"] != want {
			t.Errorf("crash %d: delay %q, want %s", i+2, e.Fields["delay"], want)
		}
	}
}

// The first crash is reported as restarted only once it has been: while
// the app's lock is held (by an operator's verb, say) neither the exit
// watcher nor a reconcile can start it, and the report says it is
// restarting; the start's own event follows the restart (issue 14, item
// 12 i: it said "restarted at once" before anything was restarted).
func TestQuickRestartReportedWhenDone(t *testing.T) {
	n := start(t, "core")
	unlock, err := n.d.locks.Lock(context.Background(), "core")
	if err != nil {
		t.Fatal(err)
	}
	n.rt.Crash(n.container("core"), 4)
	e := n.waitFor("core", engine.EventFailure, "exited (4) on its own")
	if want := "exited (4) on its own; restarting at once (a further crash backs off)"; e.Message != want {
		t.Errorf("while nothing has restarted it: %q, want %q", e.Message, want)
	}
	if s := n.state("core"); s == plan.StateRunning {
		t.Fatalf("core runs while its lock is held")
	}
	unlock()
	n.restarted("core")
}

// An app that ran well for the reset period crashes afresh: restarted at
// once, and the next crash backs off from the first delay again.
func TestBackoffResetsAfterRunningWell(t *testing.T) {
	n := start(t, "core")
	for _, backoff := range []string{"", "10ms", "20ms"} {
		n.crash("core", 1, backoff)
	}
	n.d.mu.Lock()
	n.d.apps["core"].startedAt = time.Now().Add(-testDelays.backoffReset) // it ran well since
	n.d.mu.Unlock()
	for _, backoff := range []string{"", "10ms"} {
		n.crash("core", 1, backoff)
	}
}

// Drift (a stop, kill or removal behind archy's back) is undone at once,
// however often it happens; a death nobody asked for is a crash, told
// by its exit code.
func TestDriftAndCrashes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		do    func(rt *enginetest.Fake, container string)
		event string // an EventFailure message it must report (EventState for a removal)
		crash bool   // a crash: the second one backs off
	}{
		{name: "killed by hand", do: func(rt *enginetest.Fake, c string) { rt.Kill(c) },
			event: "stopped behind archy's back (exit 137)"},
		{name: "stopped by hand", do: func(rt *enginetest.Fake, c string) { rt.Stop(context.Background(), c, 0) }},
		{name: "removed by hand", do: func(rt *enginetest.Fake, c string) { rt.Remove(context.Background(), c, 0) },
			event: "container removed"},
		{name: "podman rm -f", do: func(rt *enginetest.Fake, c string) { rt.ForceRemove(c) },
			event: "container removed"},
		{name: "killed and removed by hand", do: func(rt *enginetest.Fake, c string) { rt.Kill(c); rt.Remove(context.Background(), c, 0) },
			event: "container removed"},
		{name: "exit 1", do: func(rt *enginetest.Fake, c string) { rt.Crash(c, 1) },
			event: "exited (1) on its own; restart", crash: true},
		{name: "segfault", do: func(rt *enginetest.Fake, c string) { rt.Crash(c, 139) },
			event: "exited (139) on its own; restart", crash: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := start(t, "core")
			name := n.container("core")
			for round := range 2 {
				tc.do(n.rt, name)
				if round == 1 && tc.crash {
					n.waitFor("core", engine.EventBackoff, "on its own; restarting in 10ms")
				} else if tc.event != "" {
					typ := engine.EventFailure
					if tc.event == "container removed" {
						typ = engine.EventState
					}
					n.waitFor("core", typ, tc.event)
				}
				n.restarted("core")
			}
			if tc.crash {
				return
			}
			// The drift did not use up the quick restart: the first crash
			// after it is restarted at once (and any crash the drift was
			// taken for is reported before it). Its kill or stop is past:
			// a death now is no longer explained by it.
			n.pastExternal()
			n.rt.Crash(name, 2)
			n.waitFor("core", engine.EventFailure, "exited (2) on its own; restart")
			n.poll("core to run again", func() bool { return n.state("core") == plan.StateRunning })
			if n.saw("core", engine.EventFailure, "exited (0) on its own") || n.saw("core", engine.EventFailure, "exited (137) on its own") || n.saw("core", engine.EventBackoff, "") {
				t.Errorf("drift taken for a crash: %v", n.seen)
			}
		})
	}
}

// When Podman's event stream breaks, the daemon says it is degraded,
// reconnects, follows the events again and heals as before.
func TestReconnectsWhenEventsBreak(t *testing.T) {
	n := start(t, "core")
	n.rt.BreakEvents(errors.New("podman went away"))
	n.waitFor("", engine.EventPodman, "lost podman: podman went away")
	n.waitFor("", engine.EventPodman, "connected to podman")
	n.poll("the daemon to follow events again", func() bool { return n.rt.Watchers() > 0 })
	// The full reconcile that follows a reconnect, done before the crash.
	if err := n.d.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	n.crash("core", 1, "")
}

// Podman replays the events of the second the stream resumes from: seen
// already, they are history, and a death among them is no second crash.
func TestReconnectIgnoresReplayedEvents(t *testing.T) {
	n := start(t, "core")
	n.crash("core", 1, "")
	before := n.replayed()
	n.rt.BreakEvents(errors.New("podman went away"))
	n.waitFor("", engine.EventPodman, "connected to podman")
	// At least the last event seen comes again (the fake replays from its
	// second, as Podman does).
	n.poll("the replay to be ignored", func() bool { return n.replayed() > before })
	// The full reconcile that follows a reconnect, done before the crash.
	if err := n.d.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A replayed death taken as new would have used the quick restart
	// (or backed off): the next crash would back off 20ms, not 10ms.
	n.crash("core", 1, "10ms")
	if n.saw("core", engine.EventBackoff, "restarting in 20ms") {
		t.Errorf("a replayed death was counted: %v", n.seen)
	}
}

// When Podman rotates its event log it replays old events: a crash-looping
// app's deaths, a kill, a removal. They are history: no failure, no
// backoff, no restart, and the backoff goes on from where it was.
func TestReplayedEventLogIsHistory(t *testing.T) {
	n := start(t, "core")
	name := n.container("core")
	from := time.Now() // the daemon follows the events: it sees every one from now
	n.crash("core", 3, "")
	n.crash("core", 3, "10ms")
	n.rt.Kill(name)
	n.waitFor("core", engine.EventFailure, "stopped behind archy's back")
	n.restarted("core")
	n.rt.Remove(context.Background(), name, 0)
	n.waitFor("core", engine.EventState, "container removed")
	n.restarted("core")
	n.d.mu.Lock()
	st := n.d.apps["core"]
	crashes, until := st.crashes, st.backoffUntil
	n.d.mu.Unlock()

	n.rt.ResetCalls()
	seen := len(n.seen)
	before := n.replayed()
	replayed := n.rt.ReplayEvents(from)
	n.poll("every replayed event to be ignored", func() bool { return n.replayed() == before+float64(replayed) })
	if calls := n.rt.Calls(); len(calls) != 0 {
		t.Errorf("the replay made changes: %v", calls)
	}
	n.d.mu.Lock()
	if st.crashes != crashes || !st.backoffUntil.Equal(until) {
		t.Errorf("backoff moved: %d crashes until %v, was %d until %v", st.crashes, st.backoffUntil, crashes, until)
	}
	n.d.mu.Unlock()
	// The next crash backs off from where the loop was (the kill is past).
	n.pastExternal()
	n.crash("core", 3, "20ms")
	for _, e := range n.seen[seen:] {
		if e.App == "core" && (e.Type == engine.EventFailure || e.Type == engine.EventBackoff || e.Message == "container removed") &&
			!strings.Contains(e.Message, "restarting in 20ms") {
			t.Errorf("a replayed event was taken as new: %v", e)
		}
	}
}

// pastExternal waits until no reconcile of core is under way or asked
// for (drift may ask twice: a kill's death and the removal), and moves
// its last kill or stop just out of the window in which a death is taken
// for its doing: the next death is a crash, while a death before it (whose
// verdict may still be due) stays explained.
func (n *node) pastExternal() {
	n.t.Helper()
	n.poll("the daemon to handle every event", func() bool {
		sent, queued := n.rt.Delivered()
		return queued == 0 && n.metric("archy_podman_events_total") == float64(sent)
	})
	n.poll("core's reconciles to end", func() bool {
		n.d.mu.Lock()
		defer n.d.mu.Unlock()
		return n.d.runs["core"] == nil
	})
	n.d.mu.Lock()
	n.d.apps["core"].externalAt = time.Now().Add(-externalWindow)
	n.d.mu.Unlock()
}

// Podman's processes write their events as they make them: a podman stop
// may report the death (written by the container's cleanup) before the
// stop (the service's), with an earlier time. That stop is news, not
// history: the death is drift, not a crash.
func TestStopWrittenAfterItsDeathIsNews(t *testing.T) {
	n := start(t, "core")
	name := n.container("core")
	c, err := n.rt.Inspect(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	n.rt.Crash(name, 137) // the death, reported first
	n.rt.SendEvent(engine.ContainerEvent{Time: stopped, Action: "stop", Container: name, ID: c.ID, ExitCode: 137})
	n.restarted("core")
	n.pastExternal()
	// Its death did not use up the quick restart.
	n.rt.Crash(name, 2)
	n.waitFor("core", engine.EventFailure, "exited (2) on its own; restart")
	if n.saw("core", engine.EventFailure, "exited (137) on its own") || n.saw("core", engine.EventBackoff, "") {
		t.Errorf("the stop's death taken for a crash: %v", n.seen)
	}
}

// A daemon that starts later never saw the events before it: those a
// rotation of Podman's event log replays that are older than the start of
// the container running now are history all the same.
func TestReplayOlderThanTheDaemonIsHistory(t *testing.T) {
	first := start(t, "core")
	first.crash("core", 3, "")
	first.crash("core", 3, "10ms")
	// The next daemon runs on the same data dir (the state it left).
	state, err := os.ReadFile(filepath.Join(first.data, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	first.stop()

	n := startSeeded(t, first.rt, func(data string) {
		if err := os.WriteFile(filepath.Join(data, "state.json"), state, 0o600); err != nil {
			t.Fatal(err)
		}
	}, func(dir string) { writeApp(t, dir, "core") })
	n.rt.ResetCalls()
	seen := len(n.seen)
	before := n.replayed()
	// All but the start of the container running now, which came after it.
	old := n.rt.ReplayEvents(time.Time{}) - 1
	n.poll("the replayed events older than the running container to be ignored", func() bool { return n.replayed() == before+float64(old) })
	if calls := n.rt.Calls(); len(calls) != 0 {
		t.Errorf("the replay made changes: %v", calls)
	}
	// This daemon's first crash of the app: restarted at once, and the
	// only failure it reports.
	n.crash("core", 3, "")
	var failures []string
	for _, e := range n.seen[seen:] {
		if e.App == "core" && (e.Type == engine.EventFailure || e.Type == engine.EventBackoff) {
			failures = append(failures, e.Message)
		}
	}
	if len(failures) == 1 { // restarted by the exit watcher or by a reconcile
		failures[0] = strings.Replace(failures[0], "restarting at once", "restarted at once", 1)
	}
	if want := []string{"exited (3) on its own; restarted at once (a further crash backs off)"}; !slices.Equal(failures, want) {
		t.Errorf("failures and backoffs %q, want %q", failures, want)
	}
}

// replayed reads archy_podman_events_replayed_total.
func (n *node) replayed() float64 {
	n.t.Helper()
	return n.metric("archy_podman_events_replayed_total")
}

// metric reads one of the daemon's metrics that has no labels.
func (n *node) metric(name string) float64 {
	n.t.Helper()
	rec := httptest.NewRecorder()
	n.d.Metrics().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				n.t.Fatal(err)
			}
			return f
		}
	}
	n.t.Fatalf("no %s in the metrics", name)
	return 0
}

// archy's own stop (an operator's archy stop) is neither drift to undo
// nor a crash.
func TestOwnStopIsNoCrash(t *testing.T) {
	n := start(t, "core")
	ctx := context.Background()
	if err := n.d.Act(ctx, "core", engine.ActStop, false); err != nil {
		t.Fatal(err)
	}
	n.waitFor("core", engine.EventStep, "stop done")
	if err := n.d.Reconcile(ctx); err != nil { // a full pass leaves it stopped
		t.Fatal(err)
	}
	if s := n.state("core"); s != plan.StateExited {
		t.Errorf("core is %s after archy stop and a reconcile", s)
	}
	if n.saw("core", engine.EventFailure, "on its own") || n.saw("core", engine.EventBackoff, "") {
		t.Errorf("archy's stop taken for a crash: %v", n.seen)
	}
}

// A new app file is applied on the next pass; an invalid edit keeps the
// last good apps running and is reported until it is undone.
func TestReload(t *testing.T) {
	n := start(t, "core")
	ctx := context.Background()
	writeApp(t, n.apps, "extra")
	if err := n.d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if s := n.state("extra"); s != plan.StateRunning {
		t.Fatalf("the new app is %s", s)
	}

	bad := filepath.Join(n.apps, "bad.cue")
	if err := os.WriteFile(bad, []byte("package apps\n\napps: broken: {name: 1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := n.d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	n.waitFor("", engine.EventConfig, "apps rejected; keeping the last good ones")
	st, err := n.d.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.ConfigError == "" {
		t.Error("status reports no config error")
	}
	if len(st.Apps) != 2 {
		t.Errorf("status has %d apps, want the last good 2", len(st.Apps))
	}
	for _, id := range []string{"core", "extra"} {
		if s := n.state(id); s != plan.StateRunning {
			t.Errorf("%s is %s after a rejected edit", id, s)
		}
	}

	// Undone: the files are the last good ones again.
	if err := os.Remove(bad); err != nil {
		t.Fatal(err)
	}
	if err := n.d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	n.waitFor("", engine.EventConfig, "apps valid again")
	if st, _ := n.d.Status(ctx); st.ConfigError != "" {
		t.Errorf("config error %q after the edit was undone", st.ConfigError)
	}
}

// A forward-only app whose upgrade fails its proof is not rolled back: the
// daemon reports a failure, and its reconciles start neither the failed
// container nor the previous one, set aside.
func TestForwardOnlyFailureStaysStopped(t *testing.T) {
	n := start(t, "core")
	ctx := context.Background()
	fwd := "package apps\n\napps: core: upgrade: rollback: \"forward-only\"\n"
	if err := os.WriteFile(filepath.Join(n.apps, "forward.cue"), []byte(fwd), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := n.d.Reconcile(ctx); err != nil { // reloads the apps
		t.Fatal(err)
	}
	n.rt.BreakNext("example.org/core:1") // the upgrade pulls a new version, broken
	var fo *engine.ForwardOnlyError
	if err := n.d.Act(ctx, "core", engine.ActUpgrade, false); !errors.As(err, &fo) {
		t.Fatalf("upgrade: %v, want a forward-only failure", err)
	}
	n.waitFor("core", engine.EventFailure, "core is forward-only, so archy did not start")
	for range 2 {
		if err := n.d.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if s := n.state("core"); s == plan.StateRunning {
		t.Errorf("the failed container runs after reconciles")
	}
	if c, err := n.rt.Inspect(ctx, fo.Kept); err != nil || c.State == plan.StateRunning {
		t.Errorf("the previous container %s: %+v, %v; want it set aside, stopped", fo.Kept, c, err)
	}
	if n.saw("core", engine.EventRollback, "") {
		t.Errorf("a forward-only app was rolled back: %v", n.seen)
	}
	st, err := n.d.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range st.Apps {
		if a.App == "core" && !strings.Contains(a.Held, "forward-only") {
			t.Errorf("status of core: %+v, want held", a)
		}
	}
}

// A probe answer that matches health_check.starting is a warm-up: the
// daemon reports it (and each new note), never counts it towards a
// restart, and reports its end.
func TestWarmUpIsNotRestarted(t *testing.T) {
	n := startWarming(t, "1h")
	n.rt.ResetCalls()
	n.rt.SetExec("core", 28, "error code: -28\nerror message:\nLoading block index…\n")
	e := n.waitFor("core", engine.EventState, "starting: Loading block index…")
	if e.Fields["health"] != engine.Starting || e.Fields["note"] != "Loading block index…" {
		t.Errorf("event fields %v", e.Fields)
	}
	// A new note, a new event: probes went on meanwhile, with retries 1.
	n.rt.SetExec("core", 28, "error code: -28\nerror message:\nVerifying blocks…\n")
	n.waitFor("core", engine.EventState, "starting: Verifying blocks…")
	st, err := n.d.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if h := st.Apps[0].Health; h != "starting: Verifying blocks…" {
		t.Errorf("status says %q", h)
	}
	n.rt.SetExec("core", 0, "")
	n.waitFor("core", engine.EventState, "healthy: warm-up over")
	if n.saw("core", engine.EventFailure, "") || len(n.rt.Calls()) != 0 {
		t.Errorf("a warm-up was acted on: calls %v, events %v", n.rt.Calls(), n.seen)
	}
}

// After start_timeout a starting answer is unhealthy, and restarted as
// before.
func TestWarmUpPastStartTimeoutIsRestarted(t *testing.T) {
	n := startWarming(t, "0s")
	n.rt.ResetCalls()
	n.rt.SetExec("core", 28, "Loading block index…")
	n.waitFor("core", engine.EventFailure, "unhealthy 1 times in a row (still starting: Loading block index… after start_period 0s + start_timeout 0s)")
	n.poll("the restart", func() bool { return slices.Contains(n.rt.Calls(), "start core") })
}

// startWarming runs a daemon for app core, whose exec check calls exit
// code 28 and bitcoind's warm-up messages starting for startTimeout.
func startWarming(t *testing.T, startTimeout string) *node {
	t.Helper()
	return startWith(t, func(dir string) {
		src := fmt.Sprintf(`package apps

apps: core: {
	name:    "core"
	version: "1"
	role:    "service"
	container: source: {type: "pull", image: "example.org/core:1"}
	health_check: {
		type: "exec"
		command: ["check"]
		interval:      "10ms"
		retries:       1
		start_timeout: %q
		starting: {exit_codes: [28], output: "(Loading|Verifying)[^\\n]*"}
	}
}
`, startTimeout)
		if err := os.WriteFile(filepath.Join(dir, "core.cue"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	})
}

// An app killed after its stop timeout is a warning event, counted in
// archy_unclean_stops_total and shown by status.
func TestUncleanStopIsAWarning(t *testing.T) {
	n := start(t, "core")
	ctx := context.Background()
	n.rt.IgnoreStop(n.container("core"), true)
	if err := n.d.Act(ctx, "core", engine.ActStop, false); err != nil {
		t.Fatal(err)
	}
	want := "core was killed after its 10s stop timeout: its data may need recovery"
	if e := n.waitFor("core", engine.EventWarning, want); e.Message != want {
		t.Errorf("warning %q, want %q", e.Message, want)
	}
	rec := httptest.NewRecorder()
	n.d.Metrics().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if m := `archy_unclean_stops_total{app="core"} 1`; !strings.Contains(rec.Body.String(), m) {
		t.Errorf("metrics lack %s:\n%s", m, rec.Body)
	}
	ns, err := n.d.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns.Apps) != 1 || ns.Apps[0].UncleanStop != want {
		t.Errorf("status: %+v, want the unclean stop", ns.Apps)
	}
}

// An app whose secret is missing is blocked, its dependent skipped, and
// each reported once however often the daemon reconciles; once the
// secret exists, the next reconcile brings both up.
func TestMissingSecretIsReportedOnceAndRetried(t *testing.T) {
	n := startWith(t, func(dir string) {
		writeApp(t, dir, "core")
		src := `package apps

apps: lnd: {
	name: "lnd", version: "1", role: "service"
	container: source: {type: "pull", image: "example.org/lnd:1"}
	secrets: [{name: "lnd-wallet-password", env: "WALLET_PASSWORD"}]
}
apps: "lnd-ui": {
	name: "lnd-ui", version: "1", role: "service"
	container: source: {type: "pull", image: "example.org/lnd-ui:1"}
	dependencies: [{app_id: "lnd", condition: "started"}]
}
`
		if err := os.WriteFile(filepath.Join(dir, "lnd.cue"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	ctx := context.Background()
	for range 2 {
		if err := n.d.Reconcile(ctx); err == nil || !strings.Contains(err.Error(), "lnd-wallet-password") {
			t.Fatalf("reconcile: %v, want lnd's block", err)
		}
	}
	for drained := false; !drained; {
		select {
		case e := <-n.events:
			n.seen = append(n.seen, e)
		default:
			drained = true
		}
	}
	count := func(app, msg string) int {
		c := 0
		for _, e := range n.seen {
			if e.App == app && e.Type == engine.EventFailure && strings.Contains(e.Message, msg) {
				c++
			}
		}
		return c
	}
	if c := count("lnd", "secret lnd-wallet-password is missing: not in Podman and not in the secrets file"); c != 1 {
		t.Errorf("lnd's block reported %d times, want once; events: %v", c, n.seen)
	}
	if c := count("lnd-ui", "skipped: dependency lnd was blocked"); c != 1 {
		t.Errorf("lnd-ui's skip reported %d times, want once; events: %v", c, n.seen)
	}
	if s := n.state("core"); s != plan.StateRunning {
		t.Errorf("core is %s", s)
	}

	if err := n.rt.SetSecret(ctx, "lnd-wallet-password", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := n.d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"lnd", "lnd-ui"} {
		if s := n.state(id); s != plan.StateRunning {
			t.Errorf("%s is %s once its secret exists", id, s)
		}
	}
}

// An app that is no longer declared leaves no metric series behind: a
// removed app must not look down (or up) for ever. archy_build_info is
// always there.
func TestMetricsForgetRemovedApps(t *testing.T) {
	n := start(t, "core")
	ctx := context.Background()
	writeApp(t, n.apps, "extra")
	if err := n.d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	n.d.metrics.up.WithLabelValues("extra").Set(1)
	n.d.metrics.restarts.WithLabelValues("extra").Inc()
	n.d.metrics.setHealth("extra", engine.Healthy)
	if err := os.Remove(filepath.Join(n.apps, "extra.cue")); err != nil {
		t.Fatal(err)
	}
	if err := n.d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	families, err := n.d.metrics.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	info := false
	for _, mf := range families {
		if mf.GetName() == "archy_build_info" {
			info = true
		}
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if l.GetName() == "app" && l.GetValue() == "extra" {
					t.Errorf("%s still has a series for the removed app", mf.GetName())
				}
			}
		}
	}
	if !info {
		t.Error("no archy_build_info")
	}
}

// The probes inspect an app's container once per start of it, not once
// per probe; a death (its events) makes them look again, and they probe
// the container that runs now.
func TestProbesInspectOncePerStart(t *testing.T) {
	n := startWarming(t, "1h")
	probes := func() int { return n.rt.Looks("exec core") }
	n.poll("3 probes", func() bool { return probes() >= 3 })
	inspects, done := n.rt.Looks("inspect core"), probes()
	n.poll("5 probes more", func() bool { return probes() >= done+5 })
	if got := n.rt.Looks("inspect core"); got != inspects {
		t.Errorf("5 probes of a container that did not change inspected it %d times, want none", got-inspects)
	}
	before, _ := n.rt.Inspect(context.Background(), "core")
	inspects, done = n.rt.Looks("inspect core"), probes()
	if err := n.rt.Crash("core", 1); err != nil {
		t.Fatal(err)
	}
	n.poll("the restart and 3 probes more", func() bool { return probes() >= done+3 })
	if n.rt.Looks("inspect core") == inspects {
		t.Error("after the container died the probes did not inspect it again")
	}
	now, _ := n.rt.Inspect(context.Background(), "core")
	n.poll("the probe of the new container", func() bool {
		n.d.mu.Lock()
		defer n.d.mu.Unlock()
		return n.d.apps["core"].probedID == now.ID
	})
	if now.StartedAt.Equal(before.StartedAt) && now.ID == before.ID {
		t.Log("restarted in place") // a restart keeps the id; the probe still looked again
	}
}
