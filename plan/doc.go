// Package plan is the pure part of archy: it orders apps by their
// dependencies and (later) diffs desired apps against observed state. It
// must not do I/O, talk to Podman, read the clock or touch the file system.
package plan
