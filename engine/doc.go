// Package engine carries out plans: it declares the Runtime port (what
// archy needs from a container engine), applies plans level by level and
// keeps archy's state. The Podman adapter lives in engine/podman; loading
// and checking apps in engine/catalog; deciding what to do in plan, which
// must stay free of side effects.
package engine
