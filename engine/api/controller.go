package api

import (
	"context"
	"io"
	"net/http"

	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
)

// Controller is what the API serves: the daemon implements it. Every
// action takes the app's lock, so the API, the loop and the CLI never act
// on one app at once.
type Controller interface {
	// Status is the daemon's view of the node.
	Status(ctx context.Context) (engine.NodeStatus, error)
	// Plan is what a reconcile would do now.
	Plan(ctx context.Context) (plan.Plan, error)
	// Reconcile runs a full reconcile and waits for it.
	Reconcile(ctx context.Context) error
	// Act performs an action on one app and waits for it: start, stop,
	// restart, install, upgrade, or remove (purge deletes its volumes).
	Act(ctx context.Context, app string, action engine.Action, purge bool) error
	// ActAll stops (engine.ActStop) or starts (engine.ActStart) every app,
	// in dependency order, and waits for it: archy stop --all and start
	// --all. A failure of some apps is in the result, not the error.
	ActAll(ctx context.Context, action engine.Action) (engine.AllResult, error)
	// Logs writes the app's logs to w (see engine.Runtime.Logs).
	Logs(ctx context.Context, app string, tail int, follow bool, w io.Writer) error
	// Health probes the app once: nil when healthy.
	Health(ctx context.Context, app string) error
	// Subscribe streams the daemon's events until stop is called, after
	// the kept events r asks for (missed).
	Subscribe(r engine.Replay) (missed []engine.Event, events <-chan engine.Event, stop func())
	// Metrics serves Prometheus metrics.
	Metrics() http.Handler
}
