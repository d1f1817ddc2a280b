package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"archy.dev/archy/engine"
	"archy.dev/archy/internal/browsertest"
)

// The status page, as a browser runs it, against the fake daemon: what it
// shows, how fast a banner follows an event, and what its buttons send.

// pageStatus is a node with nothing wrong: warming up and stopped by the
// operator are not problems.
func pageStatus() engine.NodeStatus {
	return engine.NodeStatus{Apps: []engine.AppStatus{
		{App: "bitcoin-core", Container: "bitcoin-core", State: "running", Health: "healthy", Image: "localhost/bitcoin-core:local", Generation: 3},
		{App: "electrs", Container: "electrs", State: "running", Health: "starting: Indexing block 812,345 of 870,123", Image: "localhost/electrs:local", Generation: 1},
		{App: "lnd", Container: "lnd", State: "running", Health: "healthy", Image: "localhost/lnd:local", Generation: 4},
		{App: "bitcoin-ui", Container: "archy-bitcoin-ui", State: "running", Health: "healthy", Image: "localhost/bitcoin-ui:local",
			URL: "http://127.0.0.1:8334/", Generation: 2},
		{App: "lnd-ui", Container: "archy-lnd-ui", State: "exited", Image: "localhost/lnd-ui:local", Intent: []string{"stopped"}},
	}}
}

// edit changes the status the fake serves.
func (f *fake) edit(fn func(ns *engine.NodeStatus)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.status)
}

func (f *fake) recordedActs() []act {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]act(nil), f.acts...)
}

func appIn(ns *engine.NodeStatus, id string) *engine.AppStatus {
	for i := range ns.Apps {
		if ns.Apps[i].App == id {
			return &ns.Apps[i]
		}
	}
	panic("no app " + id)
}

// pageRig is the fake behind a real HTTP server, and a browser on it.
type pageRig struct {
	f   *fake
	srv *httptest.Server
	ctx context.Context

	mu      sync.Mutex
	posts   []string // "path X-Archy-Request" of every POST
	console []chromedp.ConsoleMessage
}

func newPageRig(t *testing.T, wrap func(http.Handler) http.Handler) *pageRig {
	t.Helper()
	r := &pageRig{f: newFake()}
	r.f.status = pageStatus()
	var h http.Handler = NewServer(r.f, nil)
	if wrap != nil {
		h = wrap(h)
	}
	inner := h
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPost {
			r.mu.Lock()
			r.posts = append(r.posts, req.URL.Path+" "+req.Header.Get("X-Archy-Request"))
			r.mu.Unlock()
		}
		inner.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close) // after the browser is gone (cleanups run last first)
	r.ctx = browsertest.New(t)
	messages := chromedp.Console(r.ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			r.mu.Lock()
			r.console = append(r.console, m)
			r.mu.Unlock()
		}
	}()
	// An exception or a refused script or style is a bug of the page, even
	// when what the test looks at came out right.
	t.Cleanup(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, m := range r.console {
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				t.Errorf("browser console: %s", m)
			}
		}
	})
	return r
}

func (r *pageRig) open(t *testing.T) {
	t.Helper()
	if err := chromedp.Do(r.ctx, chromedp.Navigate(r.srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls the JavaScript condition until it holds, failing t if it
// does not within d.
func (r *pageRig) waitFor(t *testing.T, d time.Duration, what, cond string) {
	t.Helper()
	_, err := chromedp.Run(r.ctx, chromedp.Poll[bool](cond,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(d)))
	if err != nil {
		banners, _ := chromedp.Run(r.ctx, chromedp.Evaluate[string](`document.querySelector('#banners').outerHTML`))
		t.Fatalf("%s: not within %v (%v); banners: %s", what, d, err, banners)
	}
}

func pageEval[T any](t *testing.T, r *pageRig, js string) T {
	t.Helper()
	v, err := chromedp.Run(r.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

func (r *pageRig) click(t *testing.T, sel string) {
	t.Helper()
	if err := chromedp.Do(r.ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

// publish sends an event as the daemon would after changing the status.
func (r *pageRig) publish(typ, app, msg string) {
	r.f.bus.Publish(engine.Event{Type: typ, App: app, Message: msg})
}

func banner(app, kind string) string {
	return fmt.Sprintf(`#banners [role="alert"][data-app=%q][data-kind=%q]`, app, kind)
}

func js(s string) string { return strconv.Quote(s) } // a Go string as a JS literal

var countdownRE = regexp.MustCompile(`^restarting in (\d+)s$`)

func TestPage(t *testing.T) {
	r := newPageRig(t, nil)
	r.open(t)
	r.waitFor(t, 10*time.Second, "connected", `document.querySelector('#conn').dataset.state === 'live'`)

	t.Run("every app", func(t *testing.T) {
		r.waitFor(t, 2*time.Second, "apps rendered", `document.querySelectorAll('.app').length === 5`)
		type row struct {
			App, State, Health, Note, LastEvent string
			Buttons                             []string
			Labels                              []string
			Link                                string
		}
		rows := pageEval[[]row](t, r, `[...document.querySelectorAll('#apps .app')].map(e => ({
			App: e.dataset.app,
			State: e.querySelector('.state').textContent,
			Health: e.querySelector('.health .health-word').textContent,
			Note: e.querySelector('.health .note').textContent,
			LastEvent: e.querySelector('.last-event').textContent,
			Buttons: [...e.querySelectorAll('button[data-action]')].map(b => b.dataset.action),
			Labels: [...e.querySelectorAll('button[data-action]')].map(b => b.getAttribute('aria-label')),
			Link: e.querySelector('.url a') ? e.querySelector('.url a').href : '',
		}))`)
		ns := pageStatus()
		if len(rows) != len(ns.Apps) {
			t.Fatalf("%d rows, want %d: %+v", len(rows), len(ns.Apps), rows)
		}
		for i, a := range ns.Apps {
			got := rows[i]
			if got.App != a.App || got.State != a.State {
				t.Errorf("row %d = %s %s, want %s %s", i, got.App, got.State, a.App, a.State)
			}
			if want := strings.Join([]string{"start", "stop", "restart", "upgrade"}, " "); strings.Join(got.Buttons, " ") != want {
				t.Errorf("%s: buttons %v, want %s", a.App, got.Buttons, want)
			}
			if got.Labels[1] != "Stop "+a.App {
				t.Errorf("%s: stop button labelled %q", a.App, got.Labels[1])
			}
			if got.LastEvent == "" {
				t.Errorf("%s: no .last-event text", a.App)
			}
		}
		if e := rows[1]; e.Health != "starting" || e.Note != "Indexing block 812,345 of 870,123" {
			t.Errorf("electrs health shown as %q with note %q", e.Health, e.Note)
		}
		if l := rows[3].Link; l != "http://127.0.0.1:8334/" {
			t.Errorf("bitcoin-ui link %q", l)
		}
		if n := pageEval[int](t, r, `document.querySelectorAll('#banners [role="alert"]').length`); n != 0 {
			t.Errorf("%d banners on a node with nothing wrong", n)
		}
		summary := strings.ReplaceAll(pageEval[string](t, r, `document.querySelector("#summary").textContent`), "\u00a0", " ")
		if !strings.Contains(summary, "5 apps") || !strings.Contains(summary, "3 healthy") || !strings.Contains(summary, "1 stopped") {
			t.Errorf("summary %q", summary)
		}
	})

	t.Run("banner follows failure", func(t *testing.T) {
		r.f.edit(func(ns *engine.NodeStatus) {
			a := appIn(ns, "lnd")
			a.State, a.ExitCode, a.Health = "exited", 1, ""
			a.Down, a.DownSince = "exited (1) on its own", time.Now()
		})
		r.publish(engine.EventFailure, "lnd", "lnd exited (1) on its own")
		sel := banner("lnd", "down")
		r.waitFor(t, time.Second, "lnd's down banner", fmt.Sprintf(
			`(b => b && b.textContent.includes('exited (1) on its own'))(document.querySelector(%s))`, js(sel)))
		r.waitFor(t, time.Second, "lnd's last event", `document.querySelector('.app[data-app="lnd"] .last-event').textContent.includes('lnd exited (1) on its own')`)

		// The banner of a problem that persists is the same element.
		pageEval[bool](t, r, fmt.Sprintf(`document.querySelector(%s).kept = true`, js(sel)))
		r.f.edit(func(ns *engine.NodeStatus) { appIn(ns, "bitcoin-core").Restarts = 1 })
		r.publish(engine.EventReconcile, "", "reconcile done")
		r.waitFor(t, time.Second, "refetched", `!document.querySelector('.app[data-app="bitcoin-core"] [data-detail="restarts"]').hidden`)
		if !pageEval[bool](t, r, fmt.Sprintf(`document.querySelector(%s).kept === true`, js(sel))) {
			t.Error("the banner was made again on a refetch")
		}
		if n := pageEval[int](t, r, `document.querySelectorAll('#banners [role="alert"]').length`); n != 1 {
			t.Errorf("%d banners, want 1", n)
		}
	})

	t.Run("banner goes with the problem", func(t *testing.T) {
		r.f.edit(func(ns *engine.NodeStatus) {
			a := appIn(ns, "lnd")
			a.State, a.ExitCode, a.Health, a.Down, a.DownSince = "running", 0, "healthy", "", time.Time{}
		})
		r.publish(engine.EventState, "lnd", "lnd healthy again")
		r.waitFor(t, time.Second, "no lnd banner", `!document.querySelector('#banners [role="alert"][data-app="lnd"]')`)
	})

	t.Run("crash loop counts down", func(t *testing.T) {
		r.f.edit(func(ns *engine.NodeStatus) {
			a := appIn(ns, "lnd")
			a.State, a.ExitCode, a.Health, a.Restarts = "exited", 1, "", 3
			a.Down, a.DownSince, a.BackoffUntil = "exited (1) on its own", time.Now(), time.Now().Add(30*time.Second)
		})
		r.publish(engine.EventBackoff, "lnd", "exited (1) on its own; restarting in 30s")
		cd := banner("lnd", "crash-loop") + " .countdown"
		r.waitFor(t, time.Second, "crash-loop countdown", fmt.Sprintf(`!!document.querySelector(%s)`, js(cd)))
		secs := func() int {
			text := pageEval[string](t, r, fmt.Sprintf(`document.querySelector(%s).textContent`, js(cd)))
			m := countdownRE.FindStringSubmatch(text)
			if m == nil {
				t.Fatalf("countdown %q", text)
			}
			n, _ := strconv.Atoi(m[1])
			return n
		}
		first := secs()
		if first < 25 || first > 30 {
			t.Errorf("countdown at %ds, want about 30s", first)
		}
		time.Sleep(2100 * time.Millisecond)
		if then := secs(); then >= first {
			t.Errorf("countdown went from %ds to %ds in 2s", first, then)
		}
		row := pageEval[string](t, r, `document.querySelector('.app[data-app="lnd"] .backoff').textContent`)
		if !countdownRE.MatchString(row) {
			t.Errorf("lnd's row says %q about its backoff", row)
		}
		r.f.edit(func(ns *engine.NodeStatus) { *appIn(ns, "lnd") = pageStatus().Apps[2] })
		r.publish(engine.EventState, "lnd", "lnd healthy again")
		r.waitFor(t, time.Second, "no crash-loop banner", `!document.querySelector('#banners [role="alert"]')`)
	})

	t.Run("node-wide problems", func(t *testing.T) {
		r.f.edit(func(ns *engine.NodeStatus) { ns.ConfigError = "apps/lnd.cue:12:3: conflicting values" })
		r.publish(engine.EventConfig, "", "apps rejected")
		r.waitFor(t, time.Second, "config banner", fmt.Sprintf(`!!document.querySelector(%s)`, js(banner("", "config"))))
		r.f.edit(func(ns *engine.NodeStatus) { ns.Degraded = "podman unreachable: connection refused" })
		r.publish(engine.EventPodman, "", "lost podman")
		r.waitFor(t, time.Second, "podman banner", fmt.Sprintf(`!!document.querySelector(%s)`, js(banner("", "podman"))))
		r.waitFor(t, time.Second, "no apps while degraded", `!document.querySelector('#no-apps').hidden`)
		r.f.edit(func(ns *engine.NodeStatus) { ns.ConfigError, ns.Degraded = "", "" })
		r.publish(engine.EventPodman, "", "podman is back")
		r.waitFor(t, time.Second, "banners gone, apps back",
			`!document.querySelector('#banners [role="alert"]') && document.querySelectorAll('.app').length === 5`)
	})

	t.Run("stop with confirmation", func(t *testing.T) {
		r.f.mu.Lock()
		r.f.actDelay = 1500 * time.Millisecond
		r.f.afterAct = func(ns *engine.NodeStatus, a act) {
			if a.Action == engine.ActStop {
				s := appIn(ns, a.App)
				s.State, s.Health, s.Intent = "exited", "", []string{"stopped"}
			}
		}
		r.f.mu.Unlock()
		stop := `.app[data-app="bitcoin-core"] button[data-action="stop"]`

		r.click(t, stop)
		r.waitFor(t, time.Second, "dialog", `document.querySelector('#confirm').open`)
		if q := pageEval[string](t, r, `document.querySelector('#confirm-title').textContent`); q != "Stop bitcoin-core?" {
			t.Errorf("dialog asks %q", q)
		}
		r.click(t, "#confirm-no")
		r.waitFor(t, time.Second, "dialog closed", `!document.querySelector('#confirm').open`)
		r.click(t, stop)
		r.waitFor(t, time.Second, "dialog", `document.querySelector('#confirm').open`)
		if err := chromedp.Do(r.ctx, chromedp.SendKeys(chromedp.CSS("#confirm-no"), kb.Escape)); err != nil {
			t.Fatal(err)
		}
		r.waitFor(t, time.Second, "dialog closed by Escape", `!document.querySelector('#confirm').open`)

		r.click(t, stop)
		r.waitFor(t, time.Second, "dialog", `document.querySelector('#confirm').open`)
		browsertest.Screenshot(t, r.ctx, "page-confirm")
		r.click(t, "#confirm-yes")
		r.waitFor(t, 1200*time.Millisecond, "busy row", `(r => r.dataset.busy === 'stop' && r.querySelector('.busy').textContent.startsWith('stopping…') && r.querySelector('button[data-action="start"]').disabled)(document.querySelector('.app[data-app="bitcoin-core"]'))`)
		browsertest.Screenshot(t, r.ctx, "page-busy")
		r.waitFor(t, 3*time.Second, "new state", `document.querySelector('.app[data-app="bitcoin-core"] .state').textContent === 'exited'`)
		r.waitFor(t, time.Second, "done notice", `[...document.querySelectorAll('.notice')].some(n => n.textContent.includes('bitcoin-core stopped'))`)
		if got := r.f.recordedActs(); len(got) != 1 || got[0] != (act{"bitcoin-core", engine.ActStop, false}) {
			t.Errorf("acts %+v, want one stop of bitcoin-core", got)
		}
		r.mu.Lock()
		posts := append([]string(nil), r.posts...)
		r.mu.Unlock()
		if len(posts) != 1 || posts[0] != "/v1/apps/bitcoin-core/stop 1" {
			t.Errorf("POSTs %q, want one to /v1/apps/bitcoin-core/stop with X-Archy-Request: 1", posts)
		}
	})

	t.Run("failed action", func(t *testing.T) {
		r.f.mu.Lock()
		r.f.actDelay = 0
		r.f.actErr["lnd"] = fmt.Errorf("%w: lnd is held at generation 4", engine.ErrConflict)
		r.f.mu.Unlock()
		r.click(t, `.app[data-app="lnd"] button[data-action="restart"]`)
		r.waitFor(t, time.Second, "dialog", `document.querySelector('#confirm').open`)
		r.click(t, "#confirm-yes")
		r.waitFor(t, 2*time.Second, "error notice",
			`[...document.querySelectorAll('.notice[data-kind="error"]')].some(n => n.textContent.includes('lnd is held at generation 4'))`)
	})

	t.Run("resync on reconnect", func(t *testing.T) {
		// A restarted daemon: the stream drops, events are missed.
		r.f.edit(func(ns *engine.NodeStatus) { appIn(ns, "electrs").Health = "healthy" })
		r.srv.CloseClientConnections()
		r.waitFor(t, 8*time.Second, "resynced",
			`document.querySelector('#conn').dataset.state === 'live' && document.querySelector('.app[data-app="electrs"] .health').textContent === 'healthy'`)
	})

	t.Run("screenshots", func(t *testing.T) {
		r.f.edit(func(ns *engine.NodeStatus) {
			*ns = pageStatus()
			ns.ConfigError = "apps/lnd.cue:12:3: apps.lnd.ports.0.host: conflicting values 9735 and 9736"
			l := appIn(ns, "lnd")
			l.State, l.ExitCode, l.Health, l.Restarts = "exited", 1, "", 4
			l.Down, l.DownSince, l.BackoffUntil = "exited (1) on its own", time.Now().Add(-3*time.Minute), time.Now().Add(42*time.Second)
			l.Degraded = "dependency electrs is starting"
			u := appIn(ns, "bitcoin-ui")
			u.Held = "rolled back to generation 2: generation 3 not healthy within 2m0s: GET http://127.0.0.1:8334/: connection refused"
		})
		r.publish(engine.EventStep, "bitcoin-core", "started bitcoin-core")
		r.publish(engine.EventState, "electrs", "starting: Indexing block 812,345 of 870,123")
		r.publish(engine.EventRollback, "bitcoin-ui", "bitcoin-ui: rolled back to generation 2")
		r.publish(engine.EventBackoff, "lnd", "exited (1) on its own; restarting in 42s")
		r.publish(engine.EventConfig, "", "apps rejected: apps/lnd.cue:12:3")
		r.waitFor(t, 2*time.Second, "problems shown", `document.querySelectorAll('#banners [role="alert"]').length === 3`)
		pageEval[int](t, r, `[...document.querySelectorAll('.notice .close')].map(b => b.click()).length`) // notices of the tests above
		browsertest.Screenshot(t, r.ctx, "page-desktop")
		scheme := func(s string) {
			t.Helper()
			p := emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: s}}}
			if _, err := chromedp.Call(r.ctx, emulation.SetEmulatedMedia, p); err != nil {
				t.Fatal(err)
			}
		}
		scheme("dark")
		browsertest.Screenshot(t, r.ctx, "page-desktop-dark")
		scheme("light")

		if err := chromedp.Do(r.ctx, chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile, chromedp.EmulateTouch)); err != nil {
			t.Fatal(err)
		}
		r.waitFor(t, 2*time.Second, "phone width", `window.innerWidth === 375`)
		if w := pageEval[int](t, r, `document.documentElement.scrollWidth`); w > 375 {
			t.Errorf("at 375 px the page is %d px wide: it scrolls sideways", w)
		}
		if h := pageEval[float64](t, r, `Math.min(...[...document.querySelectorAll('.app button')].map(b => b.getBoundingClientRect().height))`); h < 44 {
			t.Errorf("buttons %.0f px high on a phone, want at least 44", h)
		}
		browsertest.Screenshot(t, r.ctx, "page-phone")
		scheme("dark")
		browsertest.Screenshot(t, r.ctx, "page-phone-dark")
	})
}

// TestPageBehindToken runs the page behind the TCP listener's Protect:
// signed in by ?token=, its actions pass the cross-site checks; when the
// daemon comes back with another token, the page says it is not signed in.
func TestPageBehindToken(t *testing.T) {
	const oldToken, newToken = "0123456789abcdef-old", "0123456789abcdef-new"
	var rotated atomic.Bool
	r := newPageRig(t, func(h http.Handler) http.Handler {
		before, after := Protect(h, oldToken), Protect(h, newToken)
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if rotated.Load() {
				after.ServeHTTP(w, req)
			} else {
				before.ServeHTTP(w, req)
			}
		})
	})
	if err := chromedp.Do(r.ctx, chromedp.Navigate(r.srv.URL+"/?token="+oldToken)); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, 10*time.Second, "connected", `document.querySelector('#conn').dataset.state === 'live'`)
	if u := pageEval[string](t, r, `location.href`); u != r.srv.URL+"/" {
		t.Errorf("the page is at %s, want the token gone", u)
	}
	r.click(t, `.app[data-app="lnd"] button[data-action="stop"]`)
	r.waitFor(t, time.Second, "dialog", `document.querySelector('#confirm').open`)
	r.click(t, "#confirm-yes")
	r.waitFor(t, 2*time.Second, "done notice", `[...document.querySelectorAll('.notice')].some(n => n.textContent.includes('lnd stopped'))`)
	if got := r.f.recordedActs(); len(got) != 1 || got[0] != (act{"lnd", engine.ActStop, false}) {
		t.Errorf("acts %+v, want one stop of lnd", got)
	}

	rotated.Store(true) // a new token, and the daemon restarts
	r.srv.CloseClientConnections()
	r.waitFor(t, 10*time.Second, "unauthorized",
		`document.querySelector('#conn').dataset.state === 'unauthorized' && !document.querySelector('#conn-help').hidden`)
	if help := pageEval[string](t, r, `document.querySelector('#conn-help').textContent`); !strings.Contains(help, "?token=") {
		t.Errorf("help says %q", help)
	}
	browsertest.Screenshot(t, r.ctx, "page-unauthorized")
}

// TestPageServed: the API serves the page at /, and still answers
// everything else as JSON.
func TestPageServed(t *testing.T) {
	srv := httptest.NewServer(NewServer(newFake(), nil))
	defer srv.Close()
	get := func(method, path string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for path, ctype := range map[string]string{
		"/": "text/html; charset=utf-8", "/?token=abc": "text/html; charset=utf-8",
		"/page.js": "text/javascript; charset=utf-8", "/page.css": "text/css; charset=utf-8",
	} {
		resp := get("GET", path)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != ctype {
			t.Errorf("GET %s: %d %s, want 200 %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), ctype)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
	}
	if resp := get("GET", "/index.html"); resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("GET /index.html: %d %s, want the API's JSON 404", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp := get("POST", "/"); resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET" {
		t.Errorf("POST /: %d Allow %q, want 405 Allow GET", resp.StatusCode, resp.Header.Get("Allow"))
	}
}
