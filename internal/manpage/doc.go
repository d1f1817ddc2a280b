// Package manpage renders a kong command line model as a roff man page:
// every command with its arguments and flags, the global flags and the
// environment variables they read. It writes no date, so a package built
// twice holds the same page.
package manpage
