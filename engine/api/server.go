package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine"
	"archy.dev/archy/engine/api/page"
	"archy.dev/archy/schema"
)

// DefaultSocket is where the daemon listens unless told otherwise.
const DefaultSocket = "/run/archy/archy.sock"

// keepaliveEvery is how often an idle event stream gets a comment, so
// proxies and clients can tell a quiet daemon from a dead connection.
const keepaliveEvery = 15 * time.Second

// errorTrailer carries an error that happens once a log stream has begun:
// the status line is gone by then, so the client reads it from the trailer.
const errorTrailer = "X-Archy-Error"

// posted tells the verbs POST /v1/apps/{id}/{action} performs: the
// daemon's that take no option (remove is DELETE /v1/apps/{id}).
func posted(v engine.Verb) bool { return v.Remote && v.Option == "" }

// postedNames lists them, for the error that refuses another.
func postedNames() string {
	var names []string
	for _, v := range engine.Verbs() {
		if posted(v) {
			names = append(names, string(v.Action))
		}
	}
	return strings.Join(names, ", ")
}

// Option adjusts the server NewServer makes.
type Option func(*server)

// WithVersion sets the version GET /v1/ping reports (the binary's, set at
// link time); without it the module's build info is used.
func WithVersion(v string) Option {
	return func(s *server) { s.version = v }
}

// WithProfiling serves Go's runtime profiles (net/http/pprof) under
// /debug/pprof/: for the API socket, whose file mode keeps them to root,
// never for the status page's listener.
func WithProfiling() Option {
	return func(s *server) { s.profiling = true }
}

type server struct {
	c         Controller
	log       *slog.Logger
	version   string
	keepalive time.Duration
	profiling bool
	mux       *http.ServeMux
}

// NewServer returns the API's handler: JSON documents over HTTP, served
// from the Controller. It holds no state of its own, so one daemon may
// serve it on several listeners.
func NewServer(c Controller, log *slog.Logger, opts ...Option) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &server{c: c, log: log, version: buildVersion(), keepalive: keepaliveEvery, mux: http.NewServeMux()}
	for _, o := range opts {
		o(s)
	}
	s.mux.HandleFunc("GET /v1/ping", s.ping)
	s.mux.HandleFunc("GET /v1/status", s.status)
	s.mux.HandleFunc("GET /v1/apps", s.apps)
	s.mux.HandleFunc("GET /v1/apps/{id}", s.app)
	s.mux.HandleFunc("GET /v1/apps/{id}/logs", s.logs)
	s.mux.HandleFunc("GET /v1/apps/{id}/health", s.health)
	s.mux.HandleFunc("POST /v1/apps/{id}/{action}", s.act)
	s.mux.HandleFunc("DELETE /v1/apps/{id}", s.remove)
	s.mux.HandleFunc("POST /v1/node/{action}", s.node)
	s.mux.HandleFunc("GET /v1/plan", s.plan)
	s.mux.HandleFunc("POST /v1/reconcile", s.reconcile)
	s.mux.HandleFunc("GET /v1/events", s.events)
	s.mux.HandleFunc("GET /metrics", s.metrics)
	pg := page.Handler() // the status page (engine/api/page)
	s.mux.Handle("GET /{$}", pg)
	s.mux.Handle("GET /page.js", pg)
	s.mux.Handle("GET /page.css", pg)
	if s.profiling {
		s.mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		s.mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		s.mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		s.mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		s.mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	s.mux.HandleFunc("/", s.unknown)
	return s
}

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// ServeHTTP logs every request at debug level: method, path, status and
// duration. Query strings hold nothing secret but are left out anyway;
// bodies and headers are never logged.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(rec, r)
	s.log.LogAttrs(r.Context(), slog.LevelDebug, "api request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", rec.status), slog.Duration("duration", time.Since(start)))
}

// recorder remembers the status code for the request log. Unwrap lets
// http.ResponseController reach the connection's Flush.
type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *server) ping(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, PingDocument{FormatVersion: FormatVersion, Archy: s.version})
}

// nodeStatus asks the controller for the node's status, answering the
// error itself; apps is never nil, so JSON shows [] rather than null.
func (s *server) nodeStatus(w http.ResponseWriter, r *http.Request) (engine.NodeStatus, bool) {
	ns, err := s.c.Status(r.Context())
	if err != nil {
		s.fail(w, r, err, "", false)
		return ns, false
	}
	if ns.Apps == nil {
		ns.Apps = []engine.AppStatus{}
	}
	return ns, true
}

func (s *server) status(w http.ResponseWriter, r *http.Request) {
	if ns, ok := s.nodeStatus(w, r); ok {
		writeJSON(w, http.StatusOK, ns.Document())
	}
}

func (s *server) apps(w http.ResponseWriter, r *http.Request) {
	if ns, ok := s.nodeStatus(w, r); ok {
		writeJSON(w, http.StatusOK, AppsDocument{FormatVersion: FormatVersion, Apps: ns.Apps})
	}
}

func (s *server) app(w http.ResponseWriter, r *http.Request) {
	id, ok := s.appParam(w, r)
	if !ok {
		return
	}
	ns, ok := s.nodeStatus(w, r)
	if !ok {
		return
	}
	for _, a := range ns.Apps {
		if a.App == id {
			writeJSON(w, http.StatusOK, AppDocument{FormatVersion: FormatVersion, AppStatus: a})
			return
		}
	}
	if ns.Degraded != "" { // a degraded daemon may list no apps at all
		s.fail(w, r, fmt.Errorf("%w: %s", engine.ErrDegraded, ns.Degraded), id, false)
		return
	}
	s.fail(w, r, fmt.Errorf("%w: %q", catalog.ErrUnknownApp, id), id, false)
}

func (s *server) logs(w http.ResponseWriter, r *http.Request) {
	id, ok := s.appParam(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	tail := -1
	if v := q.Get("tail"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			s.fail(w, r, fmt.Errorf("%w: tail must be a number of lines, not %q", engine.ErrBadRequest, v), id, false)
			return
		}
		tail = n
	}
	follow, ok := s.boolParam(w, r, "follow")
	if !ok {
		return
	}
	sw := &streamWriter{w: w, rc: http.NewResponseController(w)}
	err := s.c.Logs(r.Context(), id, tail, follow, sw)
	started := sw.finish()
	switch {
	case !started && err != nil:
		s.fail(w, r, err, id, true)
	case !started:
		sw.begin() // no logs at all: an empty 200
	case err != nil && r.Context().Err() == nil:
		s.log.Warn("api: logs stream failed", "app", id, "err", err)
		w.Header().Set(errorTrailer, oneLine(err.Error()))
	}
}

// streamWriter hands log lines to the client as they come. The status
// line is sent with the first line, so an error before any output still
// gets its status code. Writes may come from several goroutines, and
// none is accepted once the handler is done with the response.
type streamWriter struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	rc      *http.ResponseController
	started bool
	done    bool
}

var errStreamDone = errors.New("log stream closed")

func (sw *streamWriter) Write(p []byte) (int, error) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.done {
		return 0, errStreamDone
	}
	if !sw.started {
		sw.startLocked()
	}
	n, err := sw.w.Write(p)
	if err != nil {
		return n, err
	}
	return n, sw.rc.Flush()
}

func (sw *streamWriter) startLocked() {
	h := sw.w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Trailer", errorTrailer)
	sw.w.WriteHeader(http.StatusOK)
	sw.started = true
}

// begin sends the status line of an empty stream.
func (sw *streamWriter) begin() {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if !sw.started {
		sw.startLocked()
	}
}

// finish refuses further writes and says whether output began.
func (sw *streamWriter) finish() bool {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	sw.done = true
	return sw.started
}

func (s *server) health(w http.ResponseWriter, r *http.Request) {
	id, ok := s.appParam(w, r)
	if !ok {
		return
	}
	err := s.c.Health(r.Context(), id)
	if err == nil {
		writeJSON(w, http.StatusOK, HealthDocument{FormatVersion: FormatVersion, App: id, Healthy: true, State: engine.Healthy})
		return
	}
	if note, ok := engine.IsStarting(err); ok {
		writeJSON(w, http.StatusOK, HealthDocument{FormatVersion: FormatVersion, App: id, State: engine.Starting, Note: note})
		return
	}
	if r.Context().Err() != nil || classify(err) != 0 {
		s.fail(w, r, err, id, false)
		return
	}
	// A failed probe is an answer, not an error, unless the app is unknown
	// or Podman is away; only the daemon's status can tell those apart.
	if code, msg := s.explain(r.Context(), err, id); code != 0 {
		s.writeError(w, r, code, msg)
		return
	}
	writeJSON(w, http.StatusOK, HealthDocument{FormatVersion: FormatVersion, App: id, State: engine.Unhealthy, Error: err.Error()})
}

func (s *server) act(w http.ResponseWriter, r *http.Request) {
	id, ok := s.appParam(w, r)
	if !ok {
		return
	}
	action := engine.Action(r.PathValue("action"))
	if action == engine.ActRemove {
		s.fail(w, r, fmt.Errorf("%w: remove is DELETE /v1/apps/%s", engine.ErrBadRequest, id), id, false)
		return
	}
	if v, ok := engine.VerbNamed(action); !ok || !posted(v) {
		s.fail(w, r, fmt.Errorf("%w: unknown action %q (%s)", engine.ErrBadRequest, action, postedNames()), id, false)
		return
	}
	s.do(w, r, id, action, false)
}

func (s *server) remove(w http.ResponseWriter, r *http.Request) {
	id, ok := s.appParam(w, r)
	if !ok {
		return
	}
	purge, ok := s.boolParam(w, r, "purge")
	if !ok {
		return
	}
	s.do(w, r, id, engine.ActRemove, purge)
}

// do runs an action and answers once it is done. If the client goes away
// the action's context ends, as an interrupted CLI would end it.
func (s *server) do(w http.ResponseWriter, r *http.Request, id string, action engine.Action, purge bool) {
	if err := s.c.Act(r.Context(), id, action, purge); err != nil {
		s.fail(w, r, err, id, true)
		return
	}
	writeJSON(w, http.StatusOK, ActionDocument{FormatVersion: FormatVersion, App: id, Action: action, Result: "ok"})
}

// node stops or starts the whole node, in dependency order, and answers
// once it is done with what happened to each app; apps that failed are in
// the document (200), so that the client can show every one.
func (s *server) node(w http.ResponseWriter, r *http.Request) {
	action := engine.Action(r.PathValue("action"))
	if action != engine.ActStop && action != engine.ActStart {
		s.fail(w, r, fmt.Errorf("%w: unknown action %q for the whole node (start, stop)", engine.ErrBadRequest, action), "", false)
		return
	}
	res, err := s.c.ActAll(r.Context(), action)
	if err != nil {
		s.fail(w, r, err, "", true)
		return
	}
	writeJSON(w, http.StatusOK, NodeActionDocumentOf(action, res))
}

func (s *server) plan(w http.ResponseWriter, r *http.Request) {
	pl, err := s.c.Plan(r.Context())
	if err != nil {
		s.fail(w, r, err, "", true)
		return
	}
	writeJSON(w, http.StatusOK, pl.Document())
}

func (s *server) reconcile(w http.ResponseWriter, r *http.Request) {
	if err := s.c.Reconcile(r.Context()); err != nil {
		s.fail(w, r, err, "", true)
		return
	}
	writeJSON(w, http.StatusOK, ResultDocument{FormatVersion: FormatVersion, Result: "ok"})
}

// retryMillis is the reconnect delay the event stream asks of browsers.
const retryMillis = 2000

// events streams the daemon's events as Server-Sent Events until the
// client goes away or the daemon ends the subscription. The subscription
// is made before the status line is sent, so a client that has its
// response sees every event published after that; a client that
// reconnects with Last-Event-ID (or asks since=TIME) first gets the kept
// events it missed.
func (s *server) events(w http.ResponseWriter, r *http.Request) {
	var replay engine.Replay
	replay.LastID = r.Header.Get("Last-Event-ID")
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			s.fail(w, r, fmt.Errorf("%w: since must be a time (RFC 3339), not %q", engine.ErrBadRequest, v), "", false)
			return
		}
		replay.Since = t
	}
	missed, events, stop := s.c.Subscribe(replay)
	defer stop()
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprintf(w, "retry: %d\n\n", retryMillis); err != nil {
		return
	}
	for _, e := range missed {
		if err := s.writeEvent(w, e); err != nil {
			return
		}
	}
	if err := rc.Flush(); err != nil {
		return
	}
	tick := time.NewTicker(s.keepalive)
	defer tick.Stop()
	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case e, ok := <-events:
			if !ok {
				return
			}
			err = s.writeEvent(w, e)
		case <-tick.C:
			_, err = io.WriteString(w, ": keepalive\n\n")
		}
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			return // the client is gone
		}
	}
}

// writeEvent writes one event: its id (for Last-Event-ID), its type as
// the event name, and its JSON on one data line.
func (s *server) writeEvent(w io.Writer, e engine.Event) error {
	data, err := json.Marshal(e)
	if err != nil {
		s.log.Warn("api: cannot encode event", "type", e.Type, "err", err)
		return nil
	}
	if e.ID != "" {
		if _, err := fmt.Fprintf(w, "id: %s\n", oneLine(e.ID)); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", oneLine(e.Type), data)
	return err
}

func (s *server) metrics(w http.ResponseWriter, r *http.Request) {
	h := s.c.Metrics()
	if h == nil {
		s.writeError(w, r, http.StatusNotFound, "this daemon serves no metrics")
		return
	}
	h.ServeHTTP(w, r)
}

// unknown answers paths and methods the API does not have, in JSON like
// every other error.
func (s *server) unknown(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, pattern := s.mux.Handler(r2); pattern != "/" && pattern != "" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		s.writeError(w, r, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: method not allowed (allowed: %s)", r.Method, r.URL.Path, strings.Join(allowed, ", ")))
		return
	}
	s.writeError(w, r, http.StatusNotFound, fmt.Sprintf("no such endpoint: %s %s (see docs/api.md)", r.Method, r.URL.Path))
}

func (s *server) appParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if !schema.ValidID(id) { // the schema's #ID: anything else cannot name an app
		s.fail(w, r, fmt.Errorf("%w: %q is not an app id (lower-case letters, digits and single dashes, starting with a letter)", engine.ErrBadRequest, id), "", false)
		return "", false
	}
	return id, true
}

func (s *server) boolParam(w http.ResponseWriter, r *http.Request, name string) (bool, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, true
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		s.fail(w, r, fmt.Errorf("%w: %s must be 1 or 0, not %q", engine.ErrBadRequest, name, v), "", false)
		return false, false
	}
	return b, true
}

// classify maps the Controller's error kinds to status codes; 0 when err
// says nothing about its kind.
func classify(err error) int {
	switch {
	case errors.Is(err, catalog.ErrUnknownApp):
		return http.StatusNotFound
	case errors.Is(err, engine.ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, engine.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, engine.ErrDegraded):
		return http.StatusServiceUnavailable
	}
	return 0
}

// fail answers with the status code err calls for. For a request that
// needs Podman or names an app, an error of no known kind is explained by
// asking the daemon's status: degraded (503), or the app unknown (404).
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error, app string, needsPodman bool) {
	if r.Context().Err() != nil {
		// The client went away or the daemon is stopping: nobody reads
		// this, but the request log shows what happened.
		s.writeError(w, r, http.StatusServiceUnavailable, "request cancelled: "+err.Error())
		return
	}
	if code := classify(err); code != 0 {
		s.writeError(w, r, code, err.Error())
		return
	}
	if needsPodman || app != "" {
		if code, msg := s.explain(r.Context(), err, app); code != 0 {
			s.writeError(w, r, code, msg)
			return
		}
	}
	s.writeError(w, r, http.StatusInternalServerError, err.Error())
}

// explain asks the daemon's status why err happened: 503 when the daemon
// is degraded, 404 when it does not know app; 0 when neither.
func (s *server) explain(ctx context.Context, err error, app string) (int, string) {
	ns, serr := s.c.Status(ctx)
	if serr != nil {
		return 0, ""
	}
	if ns.Degraded != "" {
		msg := err.Error()
		if !strings.Contains(msg, ns.Degraded) {
			msg = "daemon degraded (" + ns.Degraded + "): " + msg
		}
		return http.StatusServiceUnavailable, msg
	}
	if app == "" {
		return 0, ""
	}
	for _, a := range ns.Apps {
		if a.App == app {
			return 0, ""
		}
	}
	return http.StatusNotFound, err.Error()
}

func (s *server) writeError(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if code >= 500 && r.Context().Err() == nil {
		s.log.Warn("api request failed", "method", r.Method, "path", r.URL.Path, "status", code, "err", msg)
	}
	writeJSON(w, code, ErrorDocument{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		data, _ = json.Marshal(ErrorDocument{Error: "encoding response: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(data, '\n'))
}

func oneLine(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}

// Listen makes the daemon's unix socket at path, mode 0660, creating its
// directory (0755) if needed. A socket file nobody answers on is left
// from a daemon that died, and is replaced; one that answers belongs to a
// running daemon, and Listen refuses. Anything else at path is left alone.
// Closing the listener removes the socket.
func Listen(path string) (net.Listener, error) {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		// MkdirAll honours the umask; the directory must be searchable by
		// the group the socket is opened to.
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating the socket directory: %w", err)
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating the socket directory: %w", err)
		}
	}
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	case fi.Mode().Type() != fs.ModeSocket:
		return nil, fmt.Errorf("%s exists and is not a socket; not replacing it", path)
	default:
		c, derr := net.DialTimeout("unix", path, time.Second)
		switch {
		case derr == nil:
			c.Close()
			return nil, fmt.Errorf("another archy daemon answers on %s", path)
		case errors.Is(derr, syscall.ECONNREFUSED):
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("removing the stale socket: %w", err)
			}
		case errors.Is(derr, fs.ErrNotExist):
		default:
			return nil, fmt.Errorf("checking for a daemon on %s: %w", path, derr)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	// The socket is created with the umask's mode (0755 under the usual
	// 022: nobody but its owner may connect) and only then opened to the
	// group.
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return nil, fmt.Errorf("setting the socket's mode: %w", err)
	}
	return l, nil
}

// Serve serves h on l until ctx ends. Requests run under ctx, so when it
// ends, waiting actions are abandoned and open streams (events, logs -f)
// end at once; Serve then returns nil once the server has shut down and
// the socket is removed.
func Serve(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
