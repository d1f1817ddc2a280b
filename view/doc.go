// Package view renders plans, apply progress and status for people (calm,
// aligned, coloured only on a terminal) and as JSON with a version field.
// It only formats: it never decides or changes anything.
package view
