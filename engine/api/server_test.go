package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
)

// raw is a plain HTTP client on the socket, to see status codes and
// bodies exactly as a non-Go client (the node's UI) does.
func raw(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
}

func request(t *testing.T, hc *http.Client, method, path string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://archy"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

func TestEndpointsRaw(t *testing.T) {
	f := newFake()
	sock := serve(t, f, WithVersion("v1.2.3"))
	hc := raw(sock)
	tests := []struct {
		method, path string
		code         int
		// want holds fields the JSON answer must have (compared as
		// decoded JSON); "error" is matched as a substring.
		want map[string]any
	}{
		{"GET", "/v1/ping", 200, map[string]any{"format_version": 1.0, "archy": "v1.2.3"}},
		{"GET", "/v1/status", 200, map[string]any{"format_version": 1.0}},
		{"GET", "/v1/apps", 200, map[string]any{"format_version": 1.0}},
		{"GET", "/v1/apps/bitcoin-core", 200, map[string]any{"format_version": 1.0, "app": "bitcoin-core", "state": "running", "health": "healthy"}},
		{"GET", "/v1/apps/nope", 404, map[string]any{"error": `no such app: "nope"`}},
		{"GET", "/v1/apps/Bad_Id", 400, map[string]any{"error": "not an app id"}},
		{"GET", "/v1/apps/bitcoin-core/health", 200, map[string]any{"format_version": 1.0, "app": "bitcoin-core", "healthy": true}},
		{"GET", "/v1/apps/bitcoin-ui/health", 200, map[string]any{"app": "bitcoin-ui", "healthy": false, "error": "archy-bitcoin-ui is exited"}},
		{"GET", "/v1/apps/nope/health", 404, map[string]any{"error": `no app "nope"`}},
		{"GET", "/v1/apps/nope/logs", 404, map[string]any{"error": `no such app: "nope"`}},
		{"GET", "/v1/apps/bitcoin-core/logs?tail=x", 400, map[string]any{"error": "tail must be a number"}},
		{"GET", "/v1/apps/bitcoin-core/logs?follow=maybe", 400, map[string]any{"error": "follow must be 1 or 0"}},
		{"POST", "/v1/apps/bitcoin-core/restart", 200, map[string]any{"format_version": 1.0, "app": "bitcoin-core", "action": "restart", "result": "ok"}},
		{"POST", "/v1/apps/bitcoin-core/install", 200, map[string]any{"action": "install", "result": "ok"}},
		{"POST", "/v1/apps/nope/start", 404, map[string]any{"error": `no app "nope" in /etc/archy/apps`}},
		{"POST", "/v1/apps/bitcoin-core/dance", 400, map[string]any{"error": `unknown action "dance"`}},
		{"POST", "/v1/apps/bitcoin-core/remove", 400, map[string]any{"error": "remove is DELETE /v1/apps/bitcoin-core"}},
		{"DELETE", "/v1/apps/bitcoin-ui?purge=1", 200, map[string]any{"app": "bitcoin-ui", "action": "remove", "result": "ok"}},
		{"DELETE", "/v1/apps/bitcoin-ui?purge=yes", 400, map[string]any{"error": "purge must be 1 or 0"}},
		{"DELETE", "/v1/apps/nope", 404, map[string]any{"error": `no app "nope"`}},
		{"GET", "/v1/plan", 200, map[string]any{"format_version": 1.0, "fingerprint": "f00", "changes": 1.0}},
		{"POST", "/v1/reconcile", 200, map[string]any{"format_version": 1.0, "result": "ok"}},
		{"POST", "/v1/status", 405, map[string]any{"error": "method not allowed (allowed: GET)"}},
		{"GET", "/v1/reconcile", 405, map[string]any{"error": "allowed: POST"}},
		{"GET", "/v2/whatever", 404, map[string]any{"error": "no such endpoint: GET /v2/whatever"}},
		{"GET", "/metrics", 404, map[string]any{"error": "serves no metrics"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			code, h, body := request(t, hc, tt.method, tt.path)
			if code != tt.code {
				t.Errorf("status %d, want %d; body %s", code, tt.code, body)
			}
			if ct := h.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var got map[string]any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			for k, v := range tt.want {
				if k == "error" {
					if s, _ := got[k].(string); !strings.Contains(s, v.(string)) {
						t.Errorf("error %q, want it to contain %q", s, v)
					}
					continue
				}
				if diff := cmp.Diff(v, got[k]); diff != "" {
					t.Errorf("%s (-want +got):\n%s", k, diff)
				}
			}
			if tt.code >= 400 {
				if len(got) != 1 {
					t.Errorf("error document has other fields than error: %s", body)
				}
			}
		})
	}
	want := []act{
		{"bitcoin-core", engine.ActRestart, false},
		{"bitcoin-core", engine.ActInstall, false},
		{"bitcoin-ui", engine.ActRemove, true},
	}
	if diff := cmp.Diff(want, f.acts); diff != "" {
		t.Errorf("acts (-want +got):\n%s", diff)
	}
	if f.reconciles != 1 {
		t.Errorf("%d reconciles, want 1", f.reconciles)
	}
}

func TestClient(t *testing.T) {
	f := newFake()
	c := dial(t, serve(t, f, WithVersion("v9")))
	ctx := context.Background()
	if c.Version() != "v9" {
		t.Errorf("Version %q", c.Version())
	}

	ns, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f.status, ns); diff != "" {
		t.Errorf("Status (-want +got):\n%s", diff)
	}

	a, err := c.App(ctx, "bitcoin-ui")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f.status.Apps[1], a); diff != "" {
		t.Errorf("App (-want +got):\n%s", diff)
	}
	if _, err := c.App(ctx, "nope"); !errors.Is(err, catalog.ErrUnknownApp) {
		t.Errorf("App(nope): %v, want catalog.ErrUnknownApp", err)
	}

	for _, action := range []engine.Action{engine.ActStart, engine.ActStop, engine.ActRestart, engine.ActInstall, engine.ActUpgrade, engine.ActRemove} {
		if err := c.Act(ctx, "bitcoin-core", action, false); err != nil {
			t.Errorf("Act %s: %v", action, err)
		}
	}
	if err := c.Act(ctx, "bitcoin-ui", engine.ActRemove, true); err != nil {
		t.Error(err)
	}
	wantActs := []act{
		{"bitcoin-core", "start", false}, {"bitcoin-core", "stop", false}, {"bitcoin-core", "restart", false},
		{"bitcoin-core", "install", false}, {"bitcoin-core", "upgrade", false}, {"bitcoin-core", "remove", false},
		{"bitcoin-ui", "remove", true},
	}
	if diff := cmp.Diff(wantActs, f.acts); diff != "" {
		t.Errorf("acts (-want +got):\n%s", diff)
	}

	// The server's message comes back as the error, its kind via errors.Is.
	f.actErr["bitcoin-core"] = fmt.Errorf("building bitcoin-core: %w", errors.New("step 3: exit 1"))
	err = c.Act(ctx, "bitcoin-core", engine.ActUpgrade, false)
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Status != 500 || err.Error() != "building bitcoin-core: step 3: exit 1" {
		t.Errorf("Act: %#v", err)
	}
	f.actErr["bitcoin-core"] = fmt.Errorf("%w: bitcoin-core is being removed", engine.ErrConflict)
	if err := c.Act(ctx, "bitcoin-core", engine.ActStart, false); !errors.Is(err, engine.ErrConflict) || !strings.Contains(err.Error(), "being removed") {
		t.Errorf("Act: %v, want a conflict", err)
	}
	if err := c.Act(ctx, "nope", engine.ActStart, false); !errors.Is(err, catalog.ErrUnknownApp) || !strings.Contains(err.Error(), `no app "nope"`) {
		t.Errorf("Act(nope): %v", err)
	}
	if err := c.Act(ctx, "bitcoin-core", engine.ActRemove, false); !errors.Is(err, engine.ErrConflict) {
		t.Errorf("remove: %v, want a conflict", err)
	}

	h, err := c.Health(ctx, "bitcoin-core")
	if err != nil || !h.Healthy || h.State != engine.Healthy || h.App != "bitcoin-core" {
		t.Errorf("Health: %+v, %v", h, err)
	}
	h, err = c.Health(ctx, "bitcoin-ui")
	if err != nil || h.Healthy || h.State != engine.Unhealthy || h.Error != "archy-bitcoin-ui is exited" {
		t.Errorf("Health: %+v, %v", h, err)
	}
	f.mu.Lock()
	f.health["bitcoin-core"] = &engine.StartingError{Note: "Loading block index…"}
	f.mu.Unlock()
	h, err = c.Health(ctx, "bitcoin-core")
	if err != nil || h.Healthy || h.State != engine.Starting || h.Note != "Loading block index…" || h.Error != "" {
		t.Errorf("Health of a warm-up: %+v, %v", h, err)
	}
	if _, err := c.Health(ctx, "nope"); !errors.Is(err, catalog.ErrUnknownApp) {
		t.Errorf("Health(nope): %v", err)
	}

	pl, err := c.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f.plan, pl); diff != "" {
		t.Errorf("Plan (-want +got):\n%s", diff)
	}

	if err := c.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.reconErr = errors.New("2 apps failed: bitcoin-ui: build failed; lnd: skipped")
	f.mu.Unlock()
	if err := c.Reconcile(ctx); err == nil || err.Error() != "2 apps failed: bitcoin-ui: build failed; lnd: skipped" {
		t.Errorf("Reconcile: %v", err)
	}

	var b bytes.Buffer
	if err := c.Logs(ctx, "bitcoin-core", 2, false, &b); err != nil {
		t.Fatal(err)
	}
	if b.String() != "line 2\nline 3\n" {
		t.Errorf("Logs tail 2: %q", b.String())
	}
	b.Reset()
	if err := c.Logs(ctx, "bitcoin-core", -1, false, &b); err != nil || b.String() != "line 1\nline 2\nline 3\n" {
		t.Errorf("Logs: %q, %v", b.String(), err)
	}
	if err := c.Logs(ctx, "nope", -1, false, &b); !errors.Is(err, catalog.ErrUnknownApp) {
		t.Errorf("Logs(nope): %v", err)
	}
}

func TestPlanDocument(t *testing.T) {
	f := newFake()
	code, _, body := request(t, raw(serve(t, f)), "GET", "/v1/plan")
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	want, err := json.Marshal(f.plan.Document())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want)+"\n", string(body)); diff != "" {
		t.Errorf("plan document (-want +got):\n%s", diff)
	}
}

func TestEmptyAnswersAreLists(t *testing.T) {
	f := newFake()
	f.status.Apps = nil
	f.plan = plan.Plan{}
	hc := raw(serve(t, f))
	for path, want := range map[string]string{
		"/v1/status": `"apps":[]`,
		"/v1/apps":   `"apps":[]`,
		"/v1/plan":   `"steps":[]`,
	} {
		if _, _, body := request(t, hc, "GET", path); !bytes.Contains(body, []byte(want)) {
			t.Errorf("%s: %s, want %s", path, body, want)
		}
	}
}

func TestDegraded(t *testing.T) {
	f := newFake()
	f.status.Degraded = "podman unreachable: dial unix /run/podman/podman.sock: connect: no such file or directory"
	f.planErr = errors.New("reading podman state: connection refused")
	f.reconErr = fmt.Errorf("%w: podman is away", engine.ErrDegraded)
	sock := serve(t, f)
	c := dial(t, sock)
	ctx := context.Background()

	ns, err := c.Status(ctx)
	if err != nil || ns.Degraded != f.status.Degraded {
		t.Errorf("Status: %+v, %v", ns, err)
	}
	// The daemon lists no apps while degraded: one app is unknowable, not
	// unknown.
	if _, err := c.App(ctx, "bitcoin-core"); !errors.Is(err, engine.ErrDegraded) {
		t.Errorf("App: %v, want 503", err)
	}
	err = c.Act(ctx, "bitcoin-core", engine.ActRestart, false)
	if !errors.Is(err, engine.ErrDegraded) || err.Error() != f.status.Degraded {
		t.Errorf("Act: %v, want 503 with the reason once", err)
	}
	_, err = c.Plan(ctx)
	if !errors.Is(err, engine.ErrDegraded) || err.Error() != "daemon degraded ("+f.status.Degraded+"): reading podman state: connection refused" {
		t.Errorf("Plan: %v, want 503", err)
	}
	if err := c.Reconcile(ctx); !errors.Is(err, engine.ErrDegraded) {
		t.Errorf("Reconcile: %v, want 503", err)
	}
	if _, err := c.Health(ctx, "bitcoin-core"); !errors.Is(err, engine.ErrDegraded) {
		t.Errorf("Health: %v, want 503", err)
	}
	// Ping and status still answer: the daemon is up.
	if code, _, _ := request(t, raw(sock), "GET", "/v1/ping"); code != 200 {
		t.Errorf("ping: %d", code)
	}
}

func TestStatusError(t *testing.T) {
	f := newFake()
	f.statusErr = errors.New("reading podman state: EOF")
	code, _, body := request(t, raw(serve(t, f)), "GET", "/v1/status")
	if code != 500 || !bytes.Contains(body, []byte(`{"error":"reading podman state: EOF"}`)) {
		t.Errorf("%d %s", code, body)
	}
}

func TestLogsFollow(t *testing.T) {
	f := newFake()
	f.follow = make(chan string)
	c := dial(t, serve(t, f))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- c.Logs(ctx, "bitcoin-core", 1, true, pw) }()
	lines := bufio.NewScanner(pr)
	next := func() string {
		t.Helper()
		got := make(chan string, 1)
		go func() {
			lines.Scan()
			got <- lines.Text()
		}()
		select {
		case l := <-got:
			return l
		case <-time.After(5 * time.Second):
			t.Fatal("no line within 5 s: the stream is not flushed")
			return ""
		}
	}
	if l := next(); l != "line 3" {
		t.Errorf("first line %q, want the tail", l)
	}
	// Each line arrives while the stream is open, not when it ends.
	for i := range 3 {
		f.follow <- fmt.Sprintf("new %d", i)
		if l, want := next(), fmt.Sprintf("new %d", i); l != want {
			t.Errorf("line %q, want %q", l, want)
		}
	}
	cancel() // the CLI is interrupted
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Logs: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Logs did not return after cancel")
	}
	// …and the daemon stops following.
	timeout := time.After(5 * time.Second)
	for {
		select {
		case err := <-f.logsEnded:
			if errors.Is(err, context.Canceled) {
				return
			}
			continue
		case <-timeout:
			t.Fatal("the controller's Logs still runs after the client went away")
		}
	}
}

func TestLogsErrorAfterOutput(t *testing.T) {
	f := newFake()
	f.logErr = errors.New("podman: connection reset")
	c := dial(t, serve(t, f))
	var b bytes.Buffer
	err := c.Logs(context.Background(), "bitcoin-core", -1, false, &b)
	if err == nil || err.Error() != "podman: connection reset" {
		t.Errorf("Logs: %v, want the error from the trailer", err)
	}
	if b.String() != "line 1\nline 2\nline 3\n" {
		t.Errorf("output %q", b.String())
	}
}

func TestLogsEmpty(t *testing.T) {
	f := newFake()
	f.logs["bitcoin-ui"] = ""
	code, h, body := request(t, raw(serve(t, f)), "GET", "/v1/apps/bitcoin-ui/logs")
	if code != 200 || len(body) != 0 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Errorf("%d %q %q", code, h.Get("Content-Type"), body)
	}
}

func TestEvents(t *testing.T) {
	f := newFake()
	c := dial(t, serve(t, f))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := f.openSubs(); n != 1 {
		t.Fatalf("%d subscriptions once Events returned, want 1", n)
	}
	when := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var want []engine.Event
	for i, typ := range []string{engine.EventReconcile, engine.EventStep, engine.EventState, engine.EventFailure,
		engine.EventBackoff, engine.EventConfig, engine.EventPodman} {
		e := engine.Event{Time: when.Add(time.Duration(i) * time.Second), Type: typ, App: "bitcoin-ui",
			Message: fmt.Sprintf("event %d\nwith a second line", i), Fields: map[string]string{"n": fmt.Sprint(i)}}
		want = append(want, e)
		f.bus.Publish(e)
	}
	var got []engine.Event
	timeout := time.After(5 * time.Second)
	for len(got) < len(want) {
		select {
		case e := <-events:
			got = append(got, e)
		case <-timeout:
			t.Fatalf("got %d events within 5 s, want %d", len(got), len(want))
		}
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(engine.Event{}, "ID")); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	ids := map[string]bool{}
	for _, e := range got {
		if e.ID == "" || ids[e.ID] {
			t.Errorf("event id %q: empty or seen before", e.ID)
		}
		ids[e.ID] = true
	}
	cancel()
	select {
	case _, ok := <-events:
		if ok {
			t.Error("an event after cancel")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the channel is not closed after cancel")
	}
	waitFor(t, "the server to unsubscribe", func() bool { return f.openSubs() == 0 })
}

func TestEventsWire(t *testing.T) {
	f := newFake()
	sock := serve(t, f, withKeepalive(20*time.Millisecond))
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET /v1/events HTTP/1.1\r\nHost: archy\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" || resp.StatusCode != 200 {
		t.Fatalf("%d %q", resp.StatusCode, ct)
	}
	body := bufio.NewReader(resp.Body)
	readUntil := func(want string) string {
		t.Helper()
		var seen strings.Builder
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		for !strings.Contains(seen.String(), want) {
			line, err := body.ReadString('\n')
			seen.WriteString(line)
			if err != nil {
				t.Fatalf("%v after %q", err, seen.String())
			}
		}
		return seen.String()
	}
	if first := readUntil("\n\n"); first != "retry: 2000\n\n" {
		t.Errorf("the stream begins %q, want the reconnect delay", first)
	}
	readUntil(": keepalive\n\n")
	f.bus.Publish(engine.Event{Time: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), Type: engine.EventFailure, App: "lnd", Message: "build failed"})
	got := readUntil("}\n\n")
	want := regexp.MustCompile(`(?:^|\n)id: ([0-9]+-1)\nevent: failure\ndata: {"id":"([0-9]+-1)","time":"2026-05-01T00:00:00Z","type":"failure","app":"lnd","message":"build failed"}\n\n$`)
	if m := want.FindStringSubmatch(got); m == nil || m[1] != m[2] {
		t.Errorf("stream %q, want it to end in %s", got, want)
	}
	conn.Close()
	waitFor(t, "the server to unsubscribe", func() bool { return f.openSubs() == 0 })
}

// A client that reconnects with Last-Event-ID gets the kept events it
// missed, then the new ones; an id of another daemon run gets them all;
// since=TIME gets those after TIME.
func TestEventsReplay(t *testing.T) {
	f := newFake()
	sock := serve(t, f)
	when := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		f.bus.Publish(engine.Event{Time: when.Add(time.Duration(i) * time.Second), Type: engine.EventStep, App: "lnd", Message: fmt.Sprint("event ", i)})
	}
	first, _, stop := f.bus.SubscribeFrom(engine.Replay{Since: when.Add(-time.Second)})
	stop()
	if len(first) != 3 {
		t.Fatalf("%d kept events, want 3", len(first))
	}
	tests := []struct {
		name, header, query string
		want                []string
	}{
		{"after the first", first[0].ID, "", []string{"event 1", "event 2"}},
		{"after the last", first[2].ID, "", nil},
		{"another run's id", "17-9999", "", []string{"event 0", "event 1", "event 2"}},
		{"since", "", "?since=" + when.Format(time.RFC3339), []string{"event 1", "event 2"}},
		{"none asked", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "GET /v1/events%s HTTP/1.1\r\nHost: archy\r\nLast-Event-ID: %s\r\n\r\n", tt.query, tt.header)
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			f.bus.Publish(engine.Event{Type: engine.EventState, App: "lnd", Message: "live"})
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			var got []string
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				line, ok := strings.CutPrefix(sc.Text(), "data: ")
				if !ok {
					continue
				}
				var e engine.Event
				if err := json.Unmarshal([]byte(line), &e); err != nil {
					t.Fatal(err)
				}
				if e.Message == "live" {
					break
				}
				got = append(got, e.Message)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("replayed %q, want %q", got, tt.want)
			}
		})
	}
	if code, _, _ := request(t, raw(sock), "GET", "/v1/events?since=yesterday"); code != http.StatusBadRequest {
		t.Errorf("since=yesterday: %d, want 400", code)
	}
}

// A daemon that shuts down ends open streams; clients see them close.
func TestServeShutdownEndsStreams(t *testing.T) {
	f := newFake()
	f.follow = make(chan string)
	sock := filepath.Join(t.TempDir(), "archy.sock")
	stop := serveAt(t, sock, NewServer(f, nil))
	c := dial(t, sock)
	events, err := c.Events(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	logsDone := make(chan error, 1)
	go func() { logsDone <- c.Logs(context.Background(), "bitcoin-core", 0, true, io.Discard) }()
	f.follow <- "one line, so the stream is open"
	stop()
	select {
	case _, ok := <-events:
		if ok {
			t.Error("an event during shutdown")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the event stream is still open after shutdown")
	}
	select {
	case <-logsDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the log stream is still open after shutdown")
	}
}

func TestConcurrentActs(t *testing.T) {
	f := newFake()
	f.actDelay = 2 * time.Millisecond
	c := dial(t, serve(t, f))
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		wg.Go(func() {
			action := engine.ActInstall
			if i%2 == 1 {
				action = engine.ActRestart
			}
			errs <- c.Act(ctx, "bitcoin-ui", action, false)
		})
		wg.Go(func() {
			_, err := c.Status(ctx)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if len(f.acts) != 20 {
		t.Errorf("%d acts, want 20", len(f.acts))
	}
	if f.maxFlight != 1 {
		t.Errorf("%d acts on one app at once, want 1", f.maxFlight)
	}
}

// When the client gives up, the action's context ends.
func TestActCancelled(t *testing.T) {
	f := newFake()
	f.actDelay = time.Hour
	c := dial(t, serve(t, f))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := c.Act(ctx, "bitcoin-core", engine.ActUpgrade, false); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Act: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Act took %v after its deadline", d)
	}
	waitFor(t, "the action to end", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.inFlight["bitcoin-core"] == 0
	})
}

func TestRequestLog(t *testing.T) {
	f := newFake()
	var mu sync.Mutex
	var b bytes.Buffer
	log := slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &b}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sock := filepath.Join(t.TempDir(), "archy.sock")
	serveAt(t, sock, NewServer(f, log))
	hc := raw(sock)
	request(t, hc, "GET", "/v1/apps/bitcoin-core/logs?tail=2")
	request(t, hc, "GET", "/v1/apps/nope")
	mu.Lock()
	out := b.String()
	mu.Unlock()
	for _, want := range []string{
		`msg="api request" method=GET path=/v1/apps/bitcoin-core/logs status=200 duration=`,
		`msg="api request" method=GET path=/v1/apps/nope status=404 duration=`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "tail=2") {
		t.Errorf("log has the query string:\n%s", out)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestProfiling: the runtime's profiles are served only when asked for.
func TestProfiling(t *testing.T) {
	for _, tt := range []struct {
		opts []Option
		want int
	}{{nil, http.StatusNotFound}, {[]Option{WithProfiling()}, http.StatusOK}} {
		srv := httptest.NewServer(NewServer(newFake(), nil, tt.opts...))
		for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/cmdline"} {
			resp, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("profiling %v: GET %s: %d, want %d", tt.opts != nil, path, resp.StatusCode, tt.want)
			}
		}
		srv.Close()
	}
}
