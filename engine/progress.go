package engine

import (
	"bytes"
	"io"
	"strings"
	"time"

	"archy.dev/archy/plan"
)

// Progress receives what an Applier does while it does it, as typed
// events; package view renders them (for a terminal, or as the daemon's
// log lines). The engine formats nothing for people. An implementation
// must be safe for concurrent use: the apps of a level run in parallel,
// and the daemon shares one among its appliers.
type Progress interface {
	Event(ProgressEvent)
}

// ProgressEvent is one of the event types below. Durations are as
// measured; rounding them is the view's business.
type ProgressEvent interface{ progressEvent() }

// Generation numbers in events: the generation a replacement makes again
// (archy rollback), or 0 for the catalogue's new container.

// An app's step, from the first line to the last.
type (
	// StepBlocked: the plan says the app cannot be brought up.
	StepBlocked struct{ App, Reason string }
	// StepSkipped: the app was not attempted because of a dependency.
	StepSkipped struct{ App, Reason string }
	// StepDone: the app's step ended; Err is set when it failed.
	StepDone struct {
		App  string
		Done []plan.Action // the actions that were carried out
		Took time.Duration
		Err  error
	}
)

// NetworkRemoved: a --prune apply removed an app network archy created
// (Err: it could not).
type NetworkRemoved struct {
	Name string
	Err  error
}

// Jobs.
type (
	// JobRunning: one of the app's jobs runs (When is why it is due).
	JobRunning struct{ App, Job, When string }
	// JobDone: the job ended; Err is set when it failed.
	JobDone struct {
		App, Job string
		Took     time.Duration
		Err      error
	}
)

// Images.
type (
	// Building: the app's image is built from its context.
	Building struct{ App, Tag, Context string }
	// Pulling: the app's image is pulled.
	Pulling struct{ App, Image string }
	// Output is one line of a build's or a pull's output, without its
	// line ending; blank lines are left out.
	Output struct{ App, Line string }
	// NewImagePulled: a pull brought another image than the one the app's
	// container runs. Held: an upgrade to it failed before, so the
	// container stays; else it is recreated.
	NewImagePulled struct {
		App  string
		Held bool
	}
)

// Replacing a container (upgrade.go, rollback.go).
type (
	// SavingVolumes: the app's volumes are saved before its container is
	// replaced (snapshot_volumes).
	SavingVolumes struct{ App string }
	// KeepingVolume: an anonymous volume of the old container is mounted
	// in the new one.
	KeepingVolume struct{ App, Volume, Target string }
	// RemakingHeld: the app's container is missing and the catalogue's
	// target is held, so Generation, the newest good one, is made again.
	RemakingHeld struct {
		App        string
		Generation int
	}
	// Proving: the new container (Generation 0) or the earlier generation
	// made again is proved healthy within Timeout.
	Proving struct {
		App        string
		Generation int
		Timeout    time.Duration
	}
	// RecordFailed: a proved container runs, but its generation
	// could not be recorded (a warning: it stays).
	RecordFailed struct {
		App        string
		Generation int
		Err        error
	}
	// RollingBack: the replacement (Generation, as in Proving) failed for
	// Reason; the app goes back to generation To (0: the container it
	// replaced, which archy did not make).
	RollingBack struct {
		App        string
		Generation int
		Reason     error
		To         int
	}
	// HoldingForward: the replacement (generation Generation, as
	// recorded) of a forward-only app failed for Reason; it is kept
	// stopped and not rolled back, generation Previous (0: the container it
	// replaced) set aside as Kept ("": none), and the app held (a failure).
	HoldingForward struct {
		App        string
		Generation int
		Reason     error
		Previous   int
		Kept       string
	}
	// RestoringVolumes: the volumes saved before an upgrade are put back.
	RestoringVolumes struct{ App string }
	// WarmingUp: the container being proved answers "starting" (Note
	// says how); the proof waits, its health_timeout counting from the
	// warm-up's end, which Until (start_period + start_timeout) bounds.
	WarmingUp struct {
		App, Note string
		Until     time.Time
	}
)

// Recovering an upgrade a killed archy left half done (recovery.go).
type (
	// RecoveryPuttingBack: the old container had been set aside and no
	// new one made; it is put back.
	RecoveryPuttingBack struct{ App string }
	// RecoveryProving: the container the interrupted upgrade made is
	// proved now.
	RecoveryProving struct{ App string }
	// RecoveryFailed: it failed for Err; the old container is put back.
	RecoveryFailed struct {
		App string
		Err error
	}
	// RetryingStart: the old container a failed swap put back did not
	// start (Err; its ports not yet free, say); archy tries again.
	RetryingStart struct {
		App string
		Err error
	}
	// SetAsideRemoved: an old container left set aside (Container) by an
	// upgrade whose successor is proved is removed.
	SetAsideRemoved struct{ App, Container string }
	// SetAsideRestored: an old container left set aside while the app
	// has no container gets its name back.
	SetAsideRestored struct{ App, Container string }
)

// Stopping a container (stop.go).
type (
	// UncleanStop: archy stopped the app's container and had to kill it
	// after its stop Timeout (a warning: its data may need recovery).
	UncleanStop struct {
		App     string
		Timeout time.Duration
		Time    time.Time
	}
)

func (StepBlocked) progressEvent()         {}
func (StepSkipped) progressEvent()         {}
func (StepDone) progressEvent()            {}
func (NetworkRemoved) progressEvent()      {}
func (Building) progressEvent()            {}
func (Pulling) progressEvent()             {}
func (Output) progressEvent()              {}
func (NewImagePulled) progressEvent()      {}
func (SavingVolumes) progressEvent()       {}
func (KeepingVolume) progressEvent()       {}
func (RemakingHeld) progressEvent()        {}
func (Proving) progressEvent()             {}
func (RecordFailed) progressEvent()        {}
func (RollingBack) progressEvent()         {}
func (HoldingForward) progressEvent()      {}
func (RestoringVolumes) progressEvent()    {}
func (WarmingUp) progressEvent()           {}
func (RecoveryPuttingBack) progressEvent() {}
func (RecoveryProving) progressEvent()     {}
func (RecoveryFailed) progressEvent()      {}
func (RetryingStart) progressEvent()       {}
func (SetAsideRemoved) progressEvent()     {}
func (SetAsideRestored) progressEvent()    {}
func (UncleanStop) progressEvent()         {}
func (JobRunning) progressEvent()          {}
func (JobDone) progressEvent()             {}

// emit reports an event to the Applier's Progress, if any.
func (a *Applier) emit(ev ProgressEvent) {
	if a.Progress != nil {
		a.Progress.Event(ev)
	}
}

// output returns a writer that reports each line of build or pull output
// as an Output event of app.
func (a *Applier) output(app string) io.Writer {
	return &lineWriter{emit: func(line string) { a.emit(Output{App: app, Line: line}) }}
}

// lineWriter calls emit for every complete, non-blank line written to it.
type lineWriter struct {
	buf  bytes.Buffer
	emit func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil { // incomplete: keep it for the next write
			w.buf.WriteString(line)
			return len(p), nil
		}
		if line = strings.TrimRight(line, "\r\n"); strings.TrimSpace(line) != "" {
			w.emit(line)
		}
	}
}
