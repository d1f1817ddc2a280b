// Package plan is the pure part of archy: it diffs desired apps against an
// observed snapshot and the persisted intent into ordered steps, each with
// its reasons, and defines the container spec's hash and its JSON document
// (format_version). It must not do I/O, talk to Podman, read the clock or
// touch the file system.
package plan
