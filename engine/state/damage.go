package state

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// ErrUnusable is what every error of a state that archy will not act on
// wraps (damaged, of an unknown version, missing while archy's containers
// are there): commands refuse to act and offer archy state reset.
var ErrUnusable = errors.New("state unusable")

// resetAdvice ends every message of an unusable state.
const resetAdvice = "restore it from a backup, or run `archy state reset` to rebuild it from the containers (docs/state.md)"

// DamagedError is a state file that does not read, with no previous good
// version to fall back to.
type DamagedError struct {
	Path string
	Err  error // what is wrong with it
}

// Reason says what is wrong, in a few words.
func (e *DamagedError) Reason() string {
	msg := e.Err.Error()
	if msg == "unexpected end of JSON input" {
		return "it ends too soon: truncated"
	}
	return strings.TrimPrefix(msg, "json: ")
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("archy's state file %s is damaged (%s) and there is no previous good version (%s) to fall back to; archy touches no container until you decide: %s",
		e.Path, e.Reason(), filepath.Join(filepath.Dir(e.Path), PrevName), resetAdvice)
}

func (e *DamagedError) Unwrap() []error { return []error{ErrUnusable, e.Err} }

// VersionError is a state file of a version this archy does not know: a
// newer archy wrote it. It is refused rather than read as an older one,
// which would drop what the newer version records.
type VersionError struct {
	Path    string
	Version int
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("archy's state file %s is of state version %d, which this archy does not know (it reads version %d): a newer archy wrote it; run that archy again, or %s",
		e.Path, e.Version, stateVersion, resetAdvice)
}

func (e *VersionError) Unwrap() error { return ErrUnusable }

// MissingError is a data dir with no state file while containers archy
// made are there: the state was deleted (or --data-dir is not the one
// archy ran with). Acting on an empty state would forget which apps the
// operator stopped or removed, and start them again.
type MissingError struct {
	Path string
	Apps []string // the apps whose containers carry archy's labels
}

func (e *MissingError) Error() string {
	if len(e.Apps) == 0 {
		return fmt.Sprintf("archy's state file %s was deleted while archy worked; archy touches no container until you decide: %s", e.Path, resetAdvice)
	}
	return fmt.Sprintf("archy's state file %s is missing, but containers archy made are here (%s): acting without it would start again an app the operator stopped, so archy touches no container until you decide. If --data-dir is not the one archy ran with, give that one; else %s",
		e.Path, strings.Join(e.Apps, ", "), resetAdvice)
}

func (e *MissingError) Unwrap() error { return ErrUnusable }
