package engine

import "errors"

// Errors the engine and the daemon return (wrapped, with %w) so that
// callers can tell failures apart without knowing HTTP; the API maps them
// (and catalog.ErrUnknownApp) onto status codes.
var (
	ErrBadRequest = errors.New("bad request")     // the request cannot be carried out as asked
	ErrConflict   = errors.New("conflict")        // the app's state forbids it now
	ErrDegraded   = errors.New("daemon degraded") // Podman unreachable, say
)
