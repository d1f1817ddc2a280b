// Package podman is archy's adapter to Podman: the concrete [Podman] type
// implements engine.Runtime over the Podman REST API (the v5 bindings), and
// works against Podman 4.3.1 services (Debian 12's) as well as newer ones.
//
// It owns the translation both ways: engine specs onto Podman's (specgen,
// build and pull options) and Podman's answers onto plan.Observed, with
// every 404 turned into an error wrapping engine.ErrNotFound. It must not
// decide anything (what to create, restart or remove is the engine's job),
// must not shell out to the podman CLI, and must never put a secret value
// anywhere but a Podman secret.
//
// Every call derives its context from the one bindings.NewConnection
// returned (a fresh context has no connection in it), cancelled when the
// caller's context ends.
package podman
