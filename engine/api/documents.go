package api

import (
	"errors"
	"net/http"
	"time"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
)

// FormatVersion is the version of the API's documents: archy's one
// version of its JSON documents (docs/json.md).
const FormatVersion = plan.FormatVersion

// The API's documents. Every one carries format_version; new fields may
// appear at any time.
type (
	// PingDocument answers GET /v1/ping: a daemon is there.
	PingDocument struct {
		FormatVersion int    `json:"format_version"`
		Archy         string `json:"archy"` // the daemon's version
	}

	// StatusDocument answers GET /v1/status: the document of archy
	// status --json.
	StatusDocument = engine.StatusDocument

	// AppsDocument answers GET /v1/apps.
	AppsDocument struct {
		FormatVersion int                `json:"format_version"`
		Apps          []engine.AppStatus `json:"apps"`
	}

	// AppDocument answers GET /v1/apps/{id}.
	AppDocument struct {
		FormatVersion int `json:"format_version"`
		engine.AppStatus
	}

	// HealthDocument answers GET /v1/apps/{id}/health.
	HealthDocument struct {
		FormatVersion int    `json:"format_version"`
		App           string `json:"app"`
		Healthy       bool   `json:"healthy"`
		// State is healthy, starting (warming up: Note says how) or
		// unhealthy (Error says why).
		State string `json:"state"`
		Note  string `json:"note,omitempty"`
		Error string `json:"error,omitempty"`
	}

	// ActionDocument answers an action on an app once it is done.
	ActionDocument struct {
		FormatVersion int           `json:"format_version"`
		App           string        `json:"app"`
		Action        engine.Action `json:"action"`
		Result        string        `json:"result"` // "ok"
	}

	// NodeActionDocument answers POST /v1/node/{action} (stop or start
	// every app) once it is done.
	NodeActionDocument struct {
		FormatVersion int           `json:"format_version"`
		Action        engine.Action `json:"action"`
		// Apps are the apps acted on, in the order each was done.
		Apps []NodeActionApp `json:"apps"`
		// Left: apps start left stopped or removed, as the operator
		// stopped or removed them on their own.
		Left []string `json:"left,omitempty"`
	}

	// NodeActionApp is what POST /v1/node/{action} did to one app.
	NodeActionApp struct {
		App        string        `json:"app"`
		Done       []plan.Action `json:"done"`              // the actions carried out
		Error      string        `json:"error,omitempty"`   // why it failed
		Skipped    string        `json:"skipped,omitempty"` // why it was not attempted
		DurationMS int64         `json:"duration_ms"`
	}

	// ResultDocument answers POST /v1/reconcile once it is done.
	ResultDocument struct {
		FormatVersion int    `json:"format_version"`
		Result        string `json:"result"` // "ok"
	}

	// ErrorDocument is the body of every error response: the one answer
	// without format_version (the status code says what it is).
	ErrorDocument struct {
		Error string `json:"error"`
	}
)

// ErrNoDaemon is Dial's answer when no daemon answers: act directly.
//
// The errors a Controller returns choose the status code (errors.Is):
// catalog.ErrUnknownApp 404, engine.ErrBadRequest 400, engine.ErrConflict
// 409, engine.ErrDegraded 503; anything else is a 500, unless the daemon
// reports itself degraded (503) or does not know the app (404) when asked
// after the failure.
var ErrNoDaemon = errors.New("no archy daemon answers")

// Error is an error response from the daemon, as the Client returns it.
// errors.Is matches it against catalog.ErrUnknownApp (404), engine.ErrBadRequest (400),
// engine.ErrConflict (409) and engine.ErrDegraded (503).
type Error struct {
	Status  int    // HTTP status code
	Message string // the daemon's message
}

func (e *Error) Error() string { return e.Message }

// Is lets callers test the kind of failure without knowing HTTP.
func (e *Error) Is(target error) bool {
	switch target {
	case catalog.ErrUnknownApp:
		return e.Status == http.StatusNotFound
	case engine.ErrBadRequest:
		return e.Status == http.StatusBadRequest
	case engine.ErrConflict:
		return e.Status == http.StatusConflict
	case engine.ErrDegraded:
		return e.Status == http.StatusServiceUnavailable
	}
	return false
}

// NodeActionDocumentOf is the document of a whole-node action's result.
func NodeActionDocumentOf(action engine.Action, res engine.AllResult) NodeActionDocument {
	doc := NodeActionDocument{FormatVersion: FormatVersion, Action: action, Apps: []NodeActionApp{}, Left: res.Left}
	for _, o := range res.Report.Outcomes {
		a := NodeActionApp{App: o.App, Done: o.Done, Skipped: o.Skipped, DurationMS: o.Duration.Milliseconds()}
		if a.Done == nil {
			a.Done = []plan.Action{}
		}
		if o.Err != nil {
			a.Error = o.Err.Error()
		}
		doc.Apps = append(doc.Apps, a)
	}
	return doc
}

// Result is the engine's result the document describes (errors as their
// messages).
func (d NodeActionDocument) Result() engine.AllResult {
	res := engine.AllResult{Left: d.Left}
	for _, a := range d.Apps {
		o := engine.Outcome{App: a.App, Skipped: a.Skipped, Duration: time.Duration(a.DurationMS) * time.Millisecond}
		if len(a.Done) > 0 {
			o.Done = a.Done
		}
		if a.Error != "" {
			o.Err = errors.New(a.Error)
		}
		res.Report.Outcomes = append(res.Report.Outcomes, o)
	}
	return res
}
