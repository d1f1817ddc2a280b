// Package enginetest holds Fake, an in-memory engine.Runtime for fast
// tests of logic: the apply order, skipping, state, the daemon's backoff,
// heal and crash classification.
//
// Prefer real Podman (internal/podmantest) for behaviour: the fake runs no
// process, builds nothing and knows only what its tests taught it, so what
// it says about Podman is a guess. Use it where the logic above the port is
// under test, not the port. Only tests may import it (internal/layers
// checks).
package enginetest
