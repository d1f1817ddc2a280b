// Package secrets owns the secret values archy hands to apps: it reads
// the root-only secrets file, keeps the HMAC key in the data dir, checks
// that every secret an app names exists, writes the values into Podman
// and hashes them per app (so that a changed value recreates the app's
// containers). A value must never leave it except into Podman: not into
// an error, a log line, the state file or a label. It must not import
// engine; Sync asks only for the one runtime method it calls.
package secrets
