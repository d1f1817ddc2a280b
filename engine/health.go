package engine

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// ProbeRuntime is what a health probe needs of the runtime: the
// container's state, and a command run in it.
type ProbeRuntime interface {
	Inspect(ctx context.Context, name string) (plan.Container, error)
	Exec(ctx context.Context, name string, cmd []string) (int, error)
}

// Probe runs an app's health check once: http (2xx or 3xx), tcp (accepts a
// connection) or exec (exits 0 in the container). archy probes itself
// rather than relying on Podman healthchecks, which need systemd timers.
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
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
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
		resp.Body.Close()
		if resp.StatusCode >= 400 {
			return fmt.Errorf("GET %s%s: %s", hc.Endpoint, hc.Path, resp.Status)
		}
		return nil
	case schema.HealthTCP:
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(hc.Host, fmt.Sprint(hc.Port)))
		if err != nil {
			return err
		}
		return conn.Close()
	case schema.HealthExec:
		code, err := rt.Exec(ctx, app.ContainerName, hc.Command)
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("%v exited %d", hc.Command, code)
		}
		return nil
	}
	return fmt.Errorf("unknown health check type %q", hc.Type)
}

// WaitHealthy probes until the app is healthy or its patience runs out:
// start_period plus retries intervals, at least minWait. It polls faster
// than the interval, since apply is waiting on it.
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
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not healthy after %s: %w", app.ID, wait.Round(time.Second), err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, time.Second)
	}
}
