// Package api is the daemon's HTTP+JSON API on a unix socket, and the
// client the CLI uses to talk to it. The server only translates: it
// parses requests, calls the Controller (which the daemon implements) and
// renders documents; it never decides anything about apps or containers
// itself. docs/api.md describes the endpoints.
package api
