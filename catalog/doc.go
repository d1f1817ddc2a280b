// Package catalog loads a catalogue of apps: it reads the CUE files of an
// apps directory, applies the embedded schema, decodes every app into
// schema.App with its source positions and runs the checks that need more
// than one app or the file system (vet). It reads files; it never talks to
// Podman or changes anything on the host.
package catalog
