package main

import (
	"fmt"
	"time"

	"archy.dev/archy/view"
)

// EventsCmd follows the daemon's event stream (GET /v1/events).
type EventsCmd struct {
	JSON  bool   `help:"Print each event as one line of JSON: the API's event with format_version (docs/json.md)."`
	Since string `help:"Begin with the events the daemon still holds from then on: a duration back from now (10m, 2h) or an RFC 3339 time." placeholder:"DURATION|TIME"`
}

func (c *EventsCmd) Run(g *Globals) error {
	since, err := parseSince(c.Since, time.Now())
	if err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	client, err := g.daemon(ctx)
	if err != nil {
		return err
	}
	if client == nil { // unlike the other verbs, nothing to do without one
		return fmt.Errorf("no archy daemon answers on %s: archy events follows the daemon's events (archy converge runs it; --socket names another socket)", g.Socket)
	}
	defer client.Close()
	events, err := client.EventsSince(ctx, since)
	if err != nil {
		return fmt.Errorf("following the events of the daemon at %s: %w", g.Socket, err)
	}
	st := g.style()
	for e := range events {
		if c.JSON {
			err = view.EventJSON(g.stdout, e)
		} else {
			e.Time = e.Time.Local()
			err = view.Event(g.stdout, e, st)
		}
		if err != nil {
			return err
		}
	}
	if ctx.Err() != nil { // Ctrl-C or SIGTERM: the way a follow ends
		return nil
	}
	return fmt.Errorf("the daemon at %s ended the event stream (did it stop?)", g.Socket)
}

// parseSince reads --since: "" (no replay), a duration back from now, or
// an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("--since %s: a duration back from now is positive (10m)", s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--since %q: want a duration back from now (10m, 2h) or an RFC 3339 time (2026-05-01T12:00:00Z)", s)
	}
	return t, nil
}
