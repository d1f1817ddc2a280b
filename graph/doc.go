// Package graph is the dependency graph of a catalogue's apps: levels in
// dependency order (apps of one level may run side by side) and every
// dependency cycle, named. It sits below catalog (which reports cycles)
// and plan (which orders steps), so neither imports the other for it. It
// is pure: no I/O, no clock.
package graph
