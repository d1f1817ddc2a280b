// Package view renders what the other packages compute: plans, apply
// progress (the engine's typed events, for a terminal or as the daemon's
// log lines), status, the list of apps and an app's history, for people
// (calm, aligned, coloured only on a terminal) and as JSON documents that
// each carry format_version (docs/json.md). A command picks a view once.
// It only formats: it never decides or changes anything, and it imports
// neither engine/api nor engine/daemon (they come before it; the daemon's
// log gets its lines through a view cmd/archy hands it).
package view
