package view

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
)

// ApplyView renders an apply from its plan to its end: for people
// (NewApplyText) or as JSON lines (NewApplyJSON). archy apply picks one
// and drives both the same way. Event may be called concurrently.
type ApplyView interface {
	engine.Progress
	// Plan shows what the apply is about to do.
	Plan(p plan.Plan) error
	// Applied follows the steps of an apply that had something to do.
	Applied(rep engine.Report, took time.Duration)
	// Finished ends the output: the apply and, with --wait, the wait.
	Finished(r ApplyResult) error
}

// ApplyResult is how an apply went, for its last words.
type ApplyResult struct {
	Report engine.Report
	Took   time.Duration
	// Wait is set by apply --wait once it waited (nil: it did not).
	Wait *WaitResult
}

// WaitResult is how apply --wait's wait went.
type WaitResult struct {
	Apps       []string // waited for
	NotHealthy []engine.CheckFailure
	Took       time.Duration
}

// NewApplyText renders an apply for people: the plan, a line per event
// (Progress), the summary line.
func NewApplyText(w io.Writer, st Style) ApplyView {
	return &applyText{Progress: NewProgress(w), w: w, st: st}
}

type applyText struct {
	*Progress
	w  io.Writer
	st Style
}

func (v *applyText) Plan(p plan.Plan) error {
	if err := Plan(v.w, p, v.st); err != nil {
		return err
	}
	if p.Busy() {
		fmt.Fprintln(v.w)
	}
	return nil
}

// Event sets the wait apart from the apply's summary above it.
func (v *applyText) Event(ev engine.ProgressEvent) {
	if _, ok := ev.(engine.Waiting); ok {
		fmt.Fprintln(v.w)
	}
	v.Progress.Event(ev)
}

func (v *applyText) Applied(rep engine.Report, took time.Duration) { ApplySummary(v.w, rep, took) }

// Finished says the wait's verdict when every app is healthy; those that
// are not go to stderr (NotHealthy), as the command reports failures.
func (v *applyText) Finished(r ApplyResult) error {
	w := r.Wait
	if w == nil || len(w.NotHealthy) > 0 {
		return nil
	}
	var err error
	switch n := len(w.Apps); n {
	case 0:
		_, err = fmt.Fprintln(v.w, "Nothing to wait for: no app is meant to run.")
	case 1:
		_, err = fmt.Fprintf(v.w, "%s is healthy (%s).\n", w.Apps[0], w.Took.Round(100*time.Millisecond))
	default:
		_, err = fmt.Fprintf(v.w, "All %d apps are healthy (%s).\n", n, w.Took.Round(100*time.Millisecond))
	}
	return err
}

// NewApplyJSON renders an apply as JSON lines (docs/json.md): a plan
// line, a line per progress event as it happens, a summary line. Every
// line carries format_version and type.
func NewApplyJSON(w io.Writer) ApplyView {
	return &applyJSON{w: w, now: time.Now}
}

type applyJSON struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

// ProgressRecord is one progress event of apply --json.
type ProgressRecord struct {
	FormatVersion int           `json:"format_version"`
	Time          time.Time     `json:"time"`
	Type          string        `json:"type"`
	App           string        `json:"app,omitempty"`
	Message       string        `json:"message"`
	Actions       []plan.Action `json:"actions,omitempty"`
	Seconds       float64       `json:"seconds,omitempty"`
	Error         string        `json:"error,omitempty"`
	// Apps and TimeoutSeconds: what apply --wait waits for, how long.
	Apps           []string `json:"apps,omitempty"`
	TimeoutSeconds float64  `json:"timeout_seconds,omitempty"`
}

// PlanRecord is apply --json's first line: the plan document (its
// format_version included) with a time and a type.
type PlanRecord struct {
	Time time.Time `json:"time"`
	Type string    `json:"type"` // "plan"
	plan.Document
}

// SummaryRecord is apply --json's last line.
type SummaryRecord struct {
	FormatVersion int          `json:"format_version"`
	Time          time.Time    `json:"time"`
	Type          string       `json:"type"` // "summary"
	Changed       int          `json:"changed"`
	Failed        int          `json:"failed"`
	Skipped       int          `json:"skipped"`
	Seconds       float64      `json:"seconds"`
	Failures      []AppFailure `json:"failures"`
	Wait          *WaitSummary `json:"wait,omitempty"`
}

// WaitSummary is apply --wait's part of the summary line.
type WaitSummary struct {
	Apps       []string     `json:"apps"`
	NotHealthy []AppFailure `json:"not_healthy"`
	Seconds    float64      `json:"seconds"`
}

// AppFailure is an app and what went wrong with it.
type AppFailure struct {
	App   string `json:"app"`
	Error string `json:"error"`
}

func (v *applyJSON) line(rec any) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding apply progress: %w", err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	_, err = fmt.Fprintf(v.w, "%s\n", b)
	return err
}

func (v *applyJSON) Event(ev engine.ProgressEvent) {
	rec := progressRecord(ev)
	rec.FormatVersion, rec.Time = plan.FormatVersion, v.now()
	v.line(rec) // Progress has no error to return; a broken stdout shows at Finished
}

func (v *applyJSON) Plan(p plan.Plan) error {
	return v.line(PlanRecord{Time: v.now(), Type: "plan", Document: p.Document()})
}

func (v *applyJSON) Applied(engine.Report, time.Duration) {}

func (v *applyJSON) Finished(r ApplyResult) error {
	changed, failed, skipped := count(r.Report)
	rec := SummaryRecord{FormatVersion: plan.FormatVersion, Time: v.now(), Type: "summary",
		Changed: changed, Failed: failed, Skipped: skipped, Seconds: seconds(r.Took), Failures: []AppFailure{}}
	for _, o := range r.Report.Failed() {
		rec.Failures = append(rec.Failures, AppFailure{App: o.App, Error: o.Err.Error()})
	}
	if w := r.Wait; w != nil {
		rec.Wait = &WaitSummary{Apps: w.Apps, NotHealthy: []AppFailure{}, Seconds: seconds(w.Took)}
		if rec.Wait.Apps == nil {
			rec.Wait.Apps = []string{}
		}
		for _, f := range w.NotHealthy {
			rec.Wait.NotHealthy = append(rec.Wait.NotHealthy, AppFailure{App: f.App, Error: f.Reason})
		}
	}
	return v.line(rec)
}

// seconds is d in seconds, to the millisecond.
func seconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*1000) / 1000
}

// progressRecord is an event as a record: its type's name, its app, the
// line people see (an output line as it is, even one they do not), and
// the details a program wants without parsing that line.
func progressRecord(ev engine.ProgressEvent) ProgressRecord {
	var r ProgressRecord
	var err error
	switch e := ev.(type) {
	case engine.StepBlocked:
		r.Type, r.App = "blocked", e.App
	case engine.StepSkipped:
		r.Type, r.App = "skipped", e.App
	case engine.StepDone:
		r.Type, r.App, r.Actions, r.Seconds, err = "step", e.App, e.Done, seconds(e.Took), e.Err
	case engine.NetworkRemoved:
		r.Type, err = "network_removed", e.Err
	case engine.Building:
		r.Type, r.App = "building", e.App
	case engine.Pulling:
		r.Type, r.App = "pulling", e.App
	case engine.Output:
		r.Type, r.App, r.Message = "output", e.App, e.Line
	case engine.JobRunning:
		r.Type, r.App = "job_running", e.App
	case engine.JobDone:
		r.Type, r.App, r.Seconds, err = "job_done", e.App, seconds(e.Took), e.Err
	case engine.NewImagePulled:
		r.Type, r.App = "new_image", e.App
	case engine.SavingVolumes:
		r.Type, r.App = "saving_volumes", e.App
	case engine.KeepingVolume:
		r.Type, r.App = "keeping_volume", e.App
	case engine.RemakingHeld:
		r.Type, r.App = "remaking_held", e.App
	case engine.Proving:
		r.Type, r.App = "proving", e.App
	case engine.WarmingUp:
		r.Type, r.App = "warming_up", e.App
	case engine.RecordFailed:
		r.Type, r.App, err = "record_failed", e.App, e.Err
	case engine.RollingBack:
		r.Type, r.App, err = "rolling_back", e.App, e.Reason
	case engine.HoldingForward:
		r.Type, r.App, err = "holding_forward", e.App, e.Reason
	case engine.RestoringVolumes:
		r.Type, r.App = "restoring_volumes", e.App
	case engine.RecoveryPuttingBack:
		r.Type, r.App = "recovery_putting_back", e.App
	case engine.RecoveryProving:
		r.Type, r.App = "recovery_proving", e.App
	case engine.RecoveryFailed:
		r.Type, r.App, err = "recovery_failed", e.App, e.Err
	case engine.RetryingStart:
		r.Type, r.App, err = "retrying_start", e.App, e.Err
	case engine.SetAsideRemoved:
		r.Type, r.App = "set_aside_removed", e.App
	case engine.SetAsideRestored:
		r.Type, r.App = "set_aside_restored", e.App
	case engine.UncleanStop:
		r.Type, r.App = "unclean_stop", e.App
	case engine.Waiting:
		r.Type, r.Apps, r.TimeoutSeconds = "waiting", e.Apps, seconds(e.Timeout)
	case engine.WaitedHealthy:
		r.Type, r.App, r.Seconds = "healthy", e.App, seconds(e.Took)
	case engine.WaitedNotHealthy:
		r.Type, r.App, r.Error = "not_healthy", e.App, engine.HealthText(e.Err)
	case engine.ImagesPruned:
		r.Type = "images_pruned"
	default:
		r.Type = fmt.Sprintf("%T", ev) // a new event type: still a line
	}
	if err != nil {
		r.Error = err.Error()
	}
	if r.Message == "" {
		r.Message, _ = progressLine(ev)
	}
	return r
}
