package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
)

// dialWait bounds how long Dial waits for a daemon to answer: the CLI
// then acts directly, and nobody should notice the wait.
const dialWait = time.Second

// Client talks to the daemon over its socket; the CLI uses it while a
// daemon runs. It is safe for concurrent use.
type Client struct {
	socket  string
	http    *http.Client
	version string
}

// Dial connects to the daemon on socketPath and checks that it answers
// within a second. When nothing listens there (no socket, a stale one, no
// answer in time) the error wraps ErrNoDaemon and the CLI acts directly;
// any other error (permission denied, another API version) means a daemon
// is there but cannot be used, and the CLI must not work around it.
func Dial(ctx context.Context, socketPath string) (*Client, error) {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socketPath)
		},
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
	c := &Client{socket: socketPath, http: &http.Client{Transport: tr}}
	pctx, cancel := context.WithTimeout(ctx, dialWait)
	defer cancel()
	var doc PingDocument
	err := c.call(pctx, http.MethodGet, "/v1/ping", nil, &doc)
	if err == nil && doc.FormatVersion != FormatVersion {
		err = fmt.Errorf("the daemon speaks API format version %d; this archy speaks %d", doc.FormatVersion, FormatVersion)
	}
	if err != nil {
		tr.CloseIdleConnections()
		if nobodyThere(err) && ctx.Err() == nil {
			return nil, fmt.Errorf("%w on %s: %v", ErrNoDaemon, socketPath, err)
		}
		return nil, fmt.Errorf("archy daemon on %s: %w", socketPath, err)
	}
	c.version = doc.Archy
	return c, nil
}

// nobodyThere tells "no daemon" from "a daemon we cannot use".
func nobodyThere(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ENOTSOCK) || errors.Is(err, context.DeadlineExceeded)
}

// Version is the daemon's archy version, as its ping reported it.
func (c *Client) Version() string { return c.version }

// Socket is the path the client talks to.
func (c *Client) Socket() string { return c.socket }

// Close releases idle connections.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// Status is the daemon's view of the node.
func (c *Client) Status(ctx context.Context) (engine.NodeStatus, error) {
	var doc StatusDocument
	err := c.call(ctx, http.MethodGet, "/v1/status", nil, &doc)
	return doc.NodeStatus, err
}

// App is one app's status; the error matches catalog.ErrUnknownApp when the
// daemon does not know it.
func (c *Client) App(ctx context.Context, app string) (engine.AppStatus, error) {
	var doc AppDocument
	err := c.call(ctx, http.MethodGet, "/v1/apps/"+url.PathEscape(app), nil, &doc)
	return doc.AppStatus, err
}

// Act performs an action on an app and waits until the daemon is done.
// purge applies to remove only: it deletes the app's named volumes.
func (c *Client) Act(ctx context.Context, app string, action engine.Action, purge bool) error {
	path := "/v1/apps/" + url.PathEscape(app)
	if action == engine.ActRemove {
		q := url.Values{}
		if purge {
			q.Set("purge", "1")
		}
		return c.call(ctx, http.MethodDelete, path, q, nil)
	}
	return c.call(ctx, http.MethodPost, path+"/"+url.PathEscape(string(action)), nil, nil)
}

// ActAll stops or starts every app through the daemon, in dependency
// order, and waits for it (archy stop --all, start --all).
func (c *Client) ActAll(ctx context.Context, action engine.Action) (engine.AllResult, error) {
	var doc NodeActionDocument
	if err := c.call(ctx, http.MethodPost, "/v1/node/"+url.PathEscape(string(action)), nil, &doc); err != nil {
		return engine.AllResult{}, err
	}
	return doc.Result(), nil
}

// Health probes an app once through the daemon. A failed probe is not an
// error: it comes back as Healthy false with the reason.
func (c *Client) Health(ctx context.Context, app string) (HealthDocument, error) {
	var doc HealthDocument
	err := c.call(ctx, http.MethodGet, "/v1/apps/"+url.PathEscape(app)+"/health", nil, &doc)
	return doc, err
}

// Plan is what a reconcile would do now.
func (c *Client) Plan(ctx context.Context) (plan.Plan, error) {
	var doc plan.Document
	if err := c.call(ctx, http.MethodGet, "/v1/plan", nil, &doc); err != nil {
		return plan.Plan{}, err
	}
	return plan.Plan{Steps: doc.Steps, Fingerprint: doc.Fingerprint}, nil
}

// Reconcile runs a full reconcile and waits for it.
func (c *Client) Reconcile(ctx context.Context) error {
	return c.call(ctx, http.MethodPost, "/v1/reconcile", nil, nil)
}

// Logs copies an app's last tail lines (all when negative) to w, and
// keeps copying new ones while follow is set, until ctx ends.
func (c *Client) Logs(ctx context.Context, app string, tail int, follow bool, w io.Writer) error {
	q := url.Values{"tail": {strconv.Itoa(tail)}}
	if follow {
		q.Set("follow", "1")
	}
	resp, err := c.do(ctx, http.MethodGet, "/v1/apps/"+url.PathEscape(app)+"/logs", q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("reading logs: %w", err)
	}
	if msg := resp.Trailer.Get(errorTrailer); msg != "" {
		return &Error{Status: http.StatusInternalServerError, Message: msg}
	}
	return nil
}

// Events streams the daemon's events until ctx ends or the daemon goes
// away; the channel is then closed. Events published after Events
// returns are delivered in order (a reader too slow for the daemon loses
// some rather than stalling it).
func (c *Client) Events(ctx context.Context) (<-chan engine.Event, error) {
	return c.EventsSince(ctx, time.Time{})
}

// EventsSince is Events, preceded by the events the daemon still keeps
// from after since (none when since is zero; archy events --since). It
// asks with the query parameter since (RFC 3339, UTC, nanoseconds), which
// the daemon answers from its ring of recent events, and drops itself any
// event not after since, so that what a daemon replays too much (or an
// older one ignoring since) never shows.
func (c *Client) EventsSince(ctx context.Context, since time.Time) (<-chan engine.Event, error) {
	var q url.Values
	if !since.IsZero() {
		q = url.Values{"since": {since.UTC().Format(time.RFC3339Nano)}}
	}
	resp, err := c.do(ctx, http.MethodGet, "/v1/events", q)
	if err != nil {
		return nil, err
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		resp.Body.Close()
		return nil, fmt.Errorf("event stream: unexpected content type %q", mt)
	}
	ch := make(chan engine.Event, 16)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		readEvents(ctx, resp.Body, ch, since)
	}()
	return ch, nil
}

// readEvents parses Server-Sent Events (the subset the server writes:
// id, event and data fields, comments; retry is for browsers) until the
// stream or ctx ends, leaving out the events not after since.
func readEvents(ctx context.Context, r io.Reader, ch chan<- engine.Event, since time.Time) {
	br := bufio.NewReader(r)
	var typ, id string
	var data []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if len(data) == 0 {
				typ = ""
				continue
			}
			var e engine.Event
			if json.Unmarshal([]byte(strings.Join(data, "\n")), &e) == nil && (since.IsZero() || e.Time.After(since)) {
				if e.Type == "" {
					e.Type = typ
				}
				if e.ID == "" {
					e.ID = id
				}
				select {
				case ch <- e:
				case <-ctx.Done():
					return
				}
			}
			typ, id, data = "", "", nil
		case strings.HasPrefix(line, ":"): // a comment: keepalive
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "event":
				typ = value
			case "data":
				data = append(data, value)
			case "id":
				id = value
			}
		}
	}
}

// call does a request and decodes the JSON answer into out (unless nil).
func (c *Client) call(ctx context.Context, method, path string, q url.Values, out any) error {
	resp, err := c.do(ctx, method, path, q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}

// do sends a request; an error status becomes an *Error with the daemon's
// message.
func (c *Client) do(ctx context.Context, method, path string, q url.Values) (*http.Response, error) {
	u := "http://archy" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var doc ErrorDocument
	if json.Unmarshal(body, &doc) != nil || doc.Error == "" {
		doc.Error = fmt.Sprintf("%s %s: %s", method, path, resp.Status)
	}
	return nil, &Error{Status: resp.StatusCode, Message: doc.Error}
}
