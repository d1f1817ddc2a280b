package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// ProbeRuntime is what a health probe needs of the runtime: the
// container's state, and a command run in it.
type ProbeRuntime interface {
	Inspect(ctx context.Context, name string) (plan.Container, error)
	Exec(ctx context.Context, name string, cmd []string, out io.Writer) (int, error)
}

// Health states, as status, the API, events and metrics name them.
const (
	Healthy   = "healthy"
	Starting  = "starting"
	Unhealthy = "unhealthy"
)

// StartingError is a failed probe whose answer matched the check's
// starting rules: the app is warming up (bitcoind's RPC error -28,
// "Loading block index…"). It is not healthy, yet not a failure either:
// probes do not restart it, an upgrade's proof and dependents with
// condition healthy wait for it. Probe returns it only within the app's
// warm-up (start_period + start_timeout from the container's start).
type StartingError struct {
	Note string // what the answer said, trimmed and short
}

func (e *StartingError) Error() string { return "starting: " + e.Note }

// IsStarting reports whether a probe's error says the app warms up, and
// with which note.
func IsStarting(err error) (string, bool) {
	var s *StartingError
	if errors.As(err, &s) {
		return s.Note, true
	}
	return "", false
}

// HealthState names a probe's result: Healthy, Starting or Unhealthy.
func HealthState(err error) string {
	if err == nil {
		return Healthy
	}
	if _, ok := IsStarting(err); ok {
		return Starting
	}
	return Unhealthy
}

// HealthText is a probe's result as status shows it: "healthy",
// "starting: <note>" or "unhealthy: <why>".
func HealthText(err error) string {
	switch HealthState(err) {
	case Healthy:
		return Healthy
	case Starting:
		return err.Error()
	}
	return Unhealthy + ": " + err.Error()
}

// probeBodyLimit bounds what a probe reads of an http body or an exec's
// output: enough for any status answer, never a whole page.
const probeBodyLimit = 64 << 10

// noteLimit bounds a starting note, in runes.
const noteLimit = 200

// Probe runs an app's health check once: http (2xx or 3xx), tcp (accepts a
// connection) or exec (exits 0 in the container). archy probes itself
// rather than relying on Podman healthchecks, which need systemd timers.
// A failed answer that matches health_check.starting is a *StartingError
// while the app's warm-up lasts, a plain error after it.
func Probe(ctx context.Context, rt ProbeRuntime, app *schema.App) error {
	hc := app.HealthCheck
	if hc == nil {
		c, err := rt.Inspect(ctx, app.ContainerName)
		if err != nil {
			return err
		}
		if c.State != "running" {
			return fmt.Errorf("%s is %s", app.ContainerName, c.State)
		}
		return nil
	}
	timeout := time.Duration(hc.Timeout)
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := probeOnce(pctx, rt, app)
	if _, ok := IsStarting(err); ok {
		return warmUpOver(ctx, rt, app, err)
	}
	return err
}

// probeOnce runs the check and classifies a failed answer.
func probeOnce(ctx context.Context, rt ProbeRuntime, app *schema.App) error {
	hc := app.HealthCheck
	switch hc.Type {
	case schema.HealthHTTP:
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, hc.Endpoint+hc.Path, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode < 400 {
			return nil
		}
		failed := fmt.Errorf("GET %s%s: %s", hc.Endpoint, hc.Path, resp.Status)
		if hc.Starting == nil {
			return failed
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, probeBodyLimit))
		return classify(hc.Starting, slices.Contains(hc.Starting.HTTPStatus, resp.StatusCode), body, resp.Status, failed)
	case schema.HealthTCP:
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(hc.Host, fmt.Sprint(hc.Port)))
		if err != nil {
			return err
		}
		return conn.Close()
	case schema.HealthExec:
		out := &limitedBuffer{max: probeBodyLimit}
		code, err := rt.Exec(ctx, app.ContainerName, hc.Command, out)
		if err != nil {
			return err
		}
		if code == 0 {
			return nil
		}
		failed := fmt.Errorf("%v exited %d", hc.Command, code)
		if hc.Starting == nil {
			return failed
		}
		return classify(hc.Starting, slices.Contains(hc.Starting.ExitCodes, code), out.Bytes(), fmt.Sprintf("exit %d", code), failed)
	}
	return fmt.Errorf("unknown health check type %q", hc.Type)
}

// classify tells a warm-up from a failure: a failed answer is starting
// when its code is one of the starting codes (codeMatched) or its output
// matches the starting regexp. The note is the regexp's match, else the
// output's first line, else what (the status or exit code).
func classify(s *schema.Starting, codeMatched bool, output []byte, what string, failed error) error {
	var match []byte
	if s.Output != "" {
		re, err := regexp.Compile(s.Output)
		if err != nil {
			return fmt.Errorf("health_check.starting.output: %w", err)
		}
		match = re.Find(output)
	}
	if match == nil && !codeMatched {
		return failed
	}
	note := shortNote(match)
	if note == "" {
		note = shortNote(firstLine(output))
	}
	if note == "" {
		note = what
	}
	return &StartingError{Note: note}
}

func firstLine(b []byte) []byte {
	for line := range bytes.Lines(b) {
		if t := bytes.TrimSpace(line); len(t) > 0 {
			return t
		}
	}
	return nil
}

// shortNote trims b and cuts it to noteLimit runes, as valid UTF-8.
func shortNote(b []byte) string {
	s := strings.ToValidUTF8(strings.TrimSpace(string(b)), "")
	if utf8.RuneCountInString(s) > noteLimit {
		s = string([]rune(s)[:noteLimit]) + "…"
	}
	return s
}

// warmUpOver turns a starting answer into a failure once the warm-up is
// over: start_period plus start_timeout after the container started.
func warmUpOver(ctx context.Context, rt ProbeRuntime, app *schema.App, starting error) error {
	c, err := rt.Inspect(ctx, app.ContainerName)
	if err != nil {
		return err
	}
	if c.State != plan.StateRunning {
		return fmt.Errorf("%s is %s", app.ContainerName, c.State)
	}
	if end := WarmUpEnd(app, c.StartedAt); !c.StartedAt.IsZero() && time.Now().After(end) {
		hc := app.HealthCheck
		return fmt.Errorf("still %v after start_period %s + start_timeout %s", starting,
			time.Duration(hc.StartPeriod), time.Duration(hc.StartTimeout))
	}
	return starting
}

// WarmUpEnd is when an app started at startedAt must have left its
// warm-up: start_period plus start_timeout later.
func WarmUpEnd(app *schema.App, startedAt time.Time) time.Time {
	hc := app.HealthCheck
	if hc == nil {
		return startedAt
	}
	return startedAt.Add(time.Duration(hc.StartPeriod) + time.Duration(hc.StartTimeout))
}

// limitedBuffer keeps the first max bytes written to it and drops the
// rest, so that a chatty command cannot fill memory.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// WaitHealthy probes until the app is healthy or its patience runs out:
// start_period plus retries intervals, at least minWait. While the app
// warms up (the probe says starting) the wait goes on: Probe itself ends
// the warm-up after start_timeout. It polls faster than the interval,
// since apply is waiting on it.
func WaitHealthy(ctx context.Context, rt ProbeRuntime, app *schema.App, minWait time.Duration) error {
	wait := minWait
	if hc := app.HealthCheck; hc != nil {
		wait = max(wait, time.Duration(hc.StartPeriod)+time.Duration(hc.Retries)*time.Duration(hc.Interval))
	}
	deadline := time.Now().Add(wait)
	delay := 100 * time.Millisecond
	for {
		err := Probe(ctx, rt, app)
		if err == nil {
			return nil
		}
		if _, starting := IsStarting(err); starting {
			// Out of a warm-up, the app gets its retries again.
			deadline = later(deadline, time.Now().Add(time.Duration(app.HealthCheck.Retries)*time.Duration(app.HealthCheck.Interval)))
		} else if time.Now().After(deadline) {
			return fmt.Errorf("%s not healthy after %s: %w", app.ID, wait.Round(time.Second), err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(warmUpDelay(app, err, delay)):
		}
		delay = min(delay*2, time.Second)
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// warmUpDelay is how long a wait for an app sleeps before its next probe:
// delay, or, while the app warms up (which can take hours), its check's
// own interval when that is longer: no busier than the daemon's probes.
func warmUpDelay(app *schema.App, err error, delay time.Duration) time.Duration {
	if _, starting := IsStarting(err); starting {
		return max(delay, time.Duration(app.HealthCheck.Interval))
	}
	return delay
}
