// Package daemon is archy converge: it connects to Podman (and reconnects),
// reloads the catalogue when its files change (keeping the last good one
// when an edit is invalid), reconciles everything every interval and each
// app the moment Podman's events or its own exit watcher and probes say it
// broke, with a crash-loop backoff per app. It implements the API's
// Controller and owns the daemon's metrics.
//
// Files by job: daemon.go (types, New), lifecycle.go (Run, connect,
// degraded), reload.go, reconcile.go (plans to steps to events), work.go
// (the per-app and full work queues, locks), watch.go (Podman events, the
// exit watcher, probes, crash classification), controller.go (what the
// API calls), metrics.go.
//
// It decides when to act; what to do is the engine's (engine.Node and the
// Applier), and how to talk to Podman the adapter's. It must never stop
// containers when it exits.
package daemon
