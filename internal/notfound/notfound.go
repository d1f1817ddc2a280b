// Package notfound holds the error a container runtime returns for a
// container, image, volume or secret that does not exist (Podman's 404).
// It is engine.ErrNotFound; it sits in a leaf so that the packages engine
// imports (volsnap) recognise it without importing engine, which would
// be an import cycle and an import against the pipeline.
package notfound

import "errors"

// Err is engine.ErrNotFound: test with errors.Is(err, notfound.Err).
var Err = errors.New("not found")
