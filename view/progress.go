package view

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
)

// Progress renders an apply as it goes, for people: a line per app and
// step, build and pull output indented below. It is safe for concurrent
// use.
type Progress struct {
	mu sync.Mutex
	w  io.Writer
}

var _ engine.Progress = (*Progress)(nil)

// NewProgress writes apply progress to w.
func NewProgress(w io.Writer) *Progress {
	return &Progress{w: w}
}

// Event writes the event's line, if it has one.
func (p *Progress) Event(ev engine.ProgressEvent) {
	line, ok := progressLine(ev)
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, line)
}

// Pushing says an image is pushed to a registry (archy push).
func (p *Progress) Pushing(app, tag, dest string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%s: pushing %s to %s\n", app, tag, dest)
}

// LogProgress renders apply progress as log records, a record per line
// (the daemon's log).
type LogProgress struct {
	Log *slog.Logger
}

var _ engine.Progress = LogProgress{}

// Event logs the event's line, if it has one.
func (p LogProgress) Event(ev engine.ProgressEvent) {
	if line, ok := progressLine(ev); ok {
		p.Log.Info(strings.TrimRight(line, "\r\n"))
	}
}

// progressLine is the line an event prints, or false for none (the
// layer ids between a build's steps).
func progressLine(ev engine.ProgressEvent) (string, bool) {
	var s string
	switch e := ev.(type) {
	case engine.StepBlocked:
		s = fmt.Sprintf("%s: blocked: %s", e.App, e.Reason)
	case engine.StepSkipped:
		s = fmt.Sprintf("%s: skipped: %s", e.App, e.Reason)
	case engine.StepDone:
		took := e.Took.Round(100 * time.Millisecond)
		if e.Err != nil {
			s = fmt.Sprintf("%s: failed after %s: %v", e.App, took, e.Err)
		} else {
			s = fmt.Sprintf("%s: %s (%s)", e.App, pastTense(e.Done), took)
		}
	case engine.NetworkRemoved:
		if e.Err != nil {
			s = fmt.Sprintf("network %s: not removed: %v", e.Name, e.Err)
		} else {
			s = fmt.Sprintf("network %s: removed", e.Name)
		}
	case engine.Building:
		s = fmt.Sprintf("%s: building %s from %s", e.App, e.Tag, e.Context)
	case engine.Pulling:
		s = fmt.Sprintf("%s: pulling %s", e.App, e.Image)
	case engine.JobRunning:
		s = fmt.Sprintf("%s: running job %s (%s)", e.App, e.Job, e.When)
	case engine.JobDone:
		if e.Err != nil {
			s = fmt.Sprintf("%s: job %s failed after %s", e.App, e.Job, e.Took.Round(100*time.Millisecond))
		} else {
			s = fmt.Sprintf("%s: job %s done in %s", e.App, e.Job, e.Took.Round(100*time.Millisecond))
		}
	case engine.Output:
		if strings.HasPrefix(e.Line, "--> ") || isHexID(e.Line) {
			return "", false
		}
		s = fmt.Sprintf("    %s | %s", e.App, e.Line)
	case engine.NewImagePulled:
		if e.Held {
			s = fmt.Sprintf("%s: the pull brought an image whose upgrade failed before; staying (archy upgrade %s tries again)", e.App, e.App)
		} else {
			s = fmt.Sprintf("%s: the pull brought a new image; recreating", e.App)
		}
	case engine.SavingVolumes:
		s = fmt.Sprintf("%s: saving its volumes (snapshot_volumes)", e.App)
	case engine.KeepingVolume:
		s = fmt.Sprintf("%s: keeping volume %s at %s", e.App, e.Volume, e.Target)
	case engine.RemakingHeld:
		s = fmt.Sprintf("%s: its container is missing and its target is held; making generation %d again", e.App, e.Generation)
	case engine.Proving:
		s = fmt.Sprintf("%s: proving %s (health_timeout %s)", e.App, replacementName(e.Generation), e.Timeout)
	case engine.WarmingUp:
		s = fmt.Sprintf("%s: warming up (%s); waiting until %s at most", e.App, e.Note, e.Until.Format(time.TimeOnly))
	case engine.RecordFailed:
		s = fmt.Sprintf("%s: warning: recording generation %d: %v", e.App, e.Generation, e.Err)
	case engine.RollingBack:
		s = fmt.Sprintf("%s: %s failed (%v); rolling back to %s", e.App, replacementName(e.Generation), e.Reason, generationName(e.To))
	case engine.HoldingForward:
		aside := ""
		if e.Kept != "" {
			aside = fmt.Sprintf("; %s stays set aside as %s", generationName(e.Previous), e.Kept)
		}
		s = fmt.Sprintf("%s: generation %d failed (%v); forward-only: not rolling back; it is stopped and held%s", e.App, e.Generation, e.Reason, aside)
	case engine.RestoringVolumes:
		s = fmt.Sprintf("%s: restoring its volumes from before the upgrade", e.App)
	case engine.RecoveryPuttingBack:
		s = fmt.Sprintf("%s: an upgrade was interrupted after its old container was set aside; putting it back", e.App)
	case engine.RecoveryProving:
		s = fmt.Sprintf("%s: proving the container an interrupted upgrade made", e.App)
	case engine.RecoveryFailed:
		s = fmt.Sprintf("%s: it failed (%v); putting the old container back", e.App, e.Err)
	case engine.RetryingStart:
		s = fmt.Sprintf("%s: the old container did not start yet (%v); trying again", e.App, e.Err)
	case engine.SetAsideRemoved:
		s = fmt.Sprintf("%s: removing %s, left set aside by an upgrade whose new container is proved", e.App, e.Container)
	case engine.SetAsideRestored:
		s = fmt.Sprintf("%s: the app has no container; putting back %s, left set aside by an interrupted upgrade", e.App, e.Container)
	case engine.UncleanStop:
		s = "warning: " + engine.UncleanStopMessage(e.App, e.Timeout)
	case engine.Waiting:
		s = fmt.Sprintf("waiting for %s to be healthy (at most %s)", Count(len(e.Apps), "app"), e.Timeout)
	case engine.WaitedHealthy:
		s = fmt.Sprintf("%s: healthy (%s)", e.App, e.Took.Round(100*time.Millisecond))
	case engine.WaitedNotHealthy:
		s = fmt.Sprintf("%s: not healthy within %s: %s", e.App, e.Timeout, engine.HealthText(e.Err))
	case engine.ImagesPruned:
		s = fmt.Sprintf("images: %s no longer used removed, %s freed", Count(len(e.Prune.Removed), "image"), Bytes(e.Prune.Freed))
		if n := len(e.Prune.Failed); n > 0 {
			s += fmt.Sprintf("; %s not removed: %v", Count(n, "image"), e.Prune.Failed[0].Err)
		}
	default:
		return "", false
	}
	return s, true
}

// replacementName names what replaces a container: the catalogue's new
// container (0) or an earlier generation made again.
func replacementName(gen int) string {
	if gen == 0 {
		return "the new container"
	}
	return fmt.Sprintf("generation %d", gen)
}

// generationName names the generation a rollback returns to; 0 is the
// container an upgrade replaced that archy did not make.
func generationName(n int) string {
	if n == 0 {
		return "the container it replaced"
	}
	return fmt.Sprintf("generation %d", n)
}

// isHexID reports whether a line is a bare image id.
func isHexID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

func pastTense(done []plan.Action) string {
	words := map[plan.Action]string{
		plan.Adopt: "adopted", plan.Build: "built", plan.Pull: "pulled", plan.Create: "created",
		plan.Recreate: "recreated", plan.Start: "started", plan.Stop: "stopped", plan.Remove: "removed",
		plan.RunJobs: "ran its jobs",
	}
	parts := make([]string, len(done))
	for i, d := range done {
		parts[i] = words[d]
	}
	if len(parts) == 0 {
		return "nothing to do"
	}
	return strings.Join(parts, ", ")
}
