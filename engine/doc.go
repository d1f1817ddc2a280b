// Package engine carries out plans: it declares the runtime port (what
// archy needs from a container engine, as small interfaces that Runtime
// embeds), applies plans level by level, replaces containers through
// proved upgrades with generations, recovery and rollback, probes health
// and keeps archy's state. The Podman adapter lives in engine/podman, the
// daemon in engine/daemon and its HTTP API in engine/api; loading and
// checking apps in catalog; deciding what to do in plan, which must stay
// free of side effects. The engine formats nothing for people: it reports
// progress as typed values that view renders.
package engine
