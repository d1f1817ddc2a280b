// Package faultpoint kills the process at a named point of its work when
// the environment asks for it: crash-safety tests need archy to die at an
// exact moment (between removing a container and creating the next one),
// which no signal sent from outside can hit reliably.
package faultpoint

import (
	"os"
	"syscall"
)

// Env names the point at which to die: ARCHY_FAULT=NAME.
const Env = "ARCHY_FAULT"

// Hit kills the process with SIGKILL, as kill -9 would, when Env names
// point. Nothing runs after it: no deferred call, no flush.
func Hit(point string) {
	if os.Getenv(Env) == point {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}
