package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// AppStatus is one app as it is now.
type AppStatus struct {
	App       string `json:"app"`
	Container string `json:"container"`
	// State is the container's state, or "missing".
	State    string `json:"state"`
	ExitCode int    `json:"exit_code"`
	// Health is "healthy", "starting: <note>" (warming up, see
	// docs/warm-up.md), "unhealthy: <why>", or "" when not running.
	Health string `json:"health,omitempty"`
	Image  string `json:"image"`
	// Intent: "stopped" when the operator stopped it; "adopted" when
	// archy found the container rather than made it.
	Intent []string `json:"intent,omitempty"`
	// URL is where the app answers, from its http health check.
	URL string `json:"url,omitempty"`
	// Generation is the recorded generation the container is (0: none
	// recorded); Held says why applies leave the app at it (a failed
	// upgrade rolled back, or archy rollback).
	Generation int    `json:"generation,omitempty"`
	Held       string `json:"held,omitempty"`
	// DiskLow says why the daemon stopped the app for low disk space
	// (docs/disk.md); it starts it again once the space is back.
	DiskLow string `json:"disk_low,omitempty"`
	// UncleanStop says archy had to kill the app after its stop timeout
	// the last time it stopped it (UncleanStopMessage), and when; kept
	// until archy next stops it cleanly.
	UncleanStop   string    `json:"unclean_stop,omitempty"`
	UncleanStopAt time.Time `json:"unclean_stop_at,omitzero"`
	// Set by the daemon: restarts it made, and until when it holds the
	// app back after crashes; why the app is degraded (a dependency down).
	Restarts     int       `json:"restarts,omitempty"`
	BackoffUntil time.Time `json:"backoff_until,omitzero"`
	Degraded     string    `json:"degraded,omitempty"`
	// Job says which of the app's jobs failed its last run, and how
	// (docs/jobs.md); the app's step fails until it passes.
	Job string `json:"job,omitempty"`
	// Set by the daemon. Down says how the app went down behind archy's
	// back (killed, crashed, removed), kept until it serves again;
	// Failure is archy's last failed step on it (a build, a pull, a
	// start), kept until a step of it succeeds.
	Down      string    `json:"down,omitempty"`
	DownSince time.Time `json:"down_since,omitzero"`
	Failure   string    `json:"failure,omitempty"`
	FailureAt time.Time `json:"failure_at,omitzero"`
	// SetAside says an upgrade's old container is set aside
	// (plan.SetAsideNote): while it runs, or left by one interrupted.
	SetAside string `json:"set_aside,omitempty"`
}

// Status reports every declared app, probing the running ones' health in
// parallel.
func (n *Node) Status(ctx context.Context, cat *catalog.Catalog) ([]AppStatus, error) {
	return n.StatusWith(ctx, cat, nil)
}

// KnownHealth gives the health of app's running container c as a probe
// made a moment ago found it (HealthText's words), or false to have
// Status probe it now.
type KnownHealth func(app *schema.App, c plan.Container) (string, bool)

// StatusWith is Status, taking the health of the running apps from known
// where it has it: the daemon probes every app all along, and a status
// read (the status page's, after each event) must not wait on a slow
// app's check.
func (n *Node) StatusWith(ctx context.Context, cat *catalog.Catalog, known KnownHealth) ([]AppStatus, error) {
	obs, err := n.Runtime.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading podman state: %w", err)
	}
	st, err := n.State.Load()
	if errors.Is(err, state.ErrUnusable) {
		// Status still shows the containers; the caller says why the
		// intent is unknown (NodeStatus.StateError).
		st, err = state.State{}, nil
	}
	if err != nil {
		return nil, err
	}
	byName := map[string]plan.Container{}
	for _, c := range obs.Containers {
		byName[c.Name] = c
	}
	apps := cat.List()
	out := make([]AppStatus, len(apps))
	var wg sync.WaitGroup
	for i, app := range apps {
		s := AppStatus{App: app.ID, Container: app.ContainerName, State: "missing", Image: app.Container.Source.ImageRef()}
		if hc := app.HealthCheck; hc != nil && hc.Type == schema.HealthHTTP {
			s.URL = hc.Endpoint + hc.Path
		}
		if it := st.Apps[app.ID]; it.Stopped {
			s.Intent = append(s.Intent, "stopped")
		}
		if it := st.Apps[app.ID]; it.Removed {
			s.Intent = append(s.Intent, "removed")
		}
		if it := st.Apps[app.ID]; it.Adopted {
			s.Intent = append(s.Intent, "adopted")
		}
		s.Held = st.Apps[app.ID].HeldWhy
		s.DiskLow = st.Apps[app.ID].DiskLow
		for _, j := range app.Jobs { // in declaration order: the first that failed
			if r := st.Apps[app.ID].Jobs[j.Name]; r.Pending && s.Job == "" {
				s.Job = fmt.Sprintf("job %s failed: %s (archy logs %s --job %s)", j.Name, r.Failed, app.ID, j.Name)
			}
		}
		if u, ok := st.UncleanStops[app.ID]; ok {
			s.UncleanStop, s.UncleanStopAt = UncleanStopMessage(app.ID, time.Duration(u.Timeout)), u.Time
		}
		if c, ok := byName[app.ContainerName+schema.KeptSuffix]; ok {
			s.SetAside = plan.SetAsideNote(app, &c)
		}
		if c, ok := byName[app.ContainerName]; ok {
			s.State, s.ExitCode = c.State, c.ExitCode
			if g, ok := st.GenerationOf(app.ID, c); ok {
				s.Generation = g.N
			}
		}
		out[i] = s
		if s.State != plan.StateRunning {
			continue
		}
		if known != nil {
			if h, ok := known(app, byName[app.ContainerName]); ok {
				out[i].Health = h
				continue
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i].Health = HealthText(Probe(ctx, n.Runtime, app))
		}()
	}
	wg.Wait()
	return out, nil
}
