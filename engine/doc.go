// Package engine carries out plans: it declares the runtime port (what
// archy needs from a container engine, as small interfaces that Runtime
// embeds), applies plans level by level, replaces containers through
// proved upgrades with generations, recovery and rollback, and probes
// health. Its parts with one job each sit below it and never import it:
// the state file and the locks in engine/state, the secret values in
// engine/secrets, volume snapshots in engine/volsnap. The Podman adapter
// lives in engine/podman, the daemon in engine/daemon and its HTTP API in
// engine/api; loading and checking apps in catalog; deciding what to do in
// plan, which must stay free of side effects. The engine formats nothing
// for people: it reports progress as typed values that view renders.
package engine
