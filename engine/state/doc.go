// Package state owns archy's persisted record in the data dir and the
// locks around it: state.json (the operator's intent per app, the
// generations, the replacements in flight), written atomically and read
// back in the same format whatever version wrote it; the host-wide lock
// that makes archy processes take turns; and the per-app locks that keep
// work on one app from overlapping. It must not talk to a container
// runtime or import engine: it records what the engine decides.
package state
