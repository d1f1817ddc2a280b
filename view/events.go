package view

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
)

// Event writes one of the daemon's events for people (archy events): its
// time (in the time's own location: the command makes it local), type,
// app ("-" for the node) and message, on one line, so that a stream is
// one event a line for grep and tail. The columns are padded rather than
// aligned: a stream cannot wait for its widest line.
func Event(w io.Writer, e engine.Event, st Style) error {
	app := e.App
	if app == "" {
		app = "-"
	}
	// A build's error can span lines; folded, it stays one event's line.
	msg := strings.Join(strings.FieldsFunc(e.Message, func(r rune) bool { return r == '\n' || r == '\r' }), "; ")
	_, err := fmt.Fprintf(w, "%s  %s  %-12s  %s\n", e.Time.Format(time.DateTime), st.paint(eventColor(e.Type), fmt.Sprintf("%-9s", e.Type)), app, msg)
	return err
}

func eventColor(typ string) string {
	switch typ {
	case engine.EventFailure:
		return red
	case engine.EventWarning, engine.EventBackoff, engine.EventRollback:
		return yellow
	}
	return ""
}

// EventDocument is an event as archy events --json writes it: the API's
// engine.Event with format_version (docs/json.md).
type EventDocument struct {
	FormatVersion int `json:"format_version"`
	engine.Event
}

// EventJSON writes one event as one line of JSON.
func EventJSON(w io.Writer, e engine.Event) error {
	b, err := json.Marshal(EventDocument{FormatVersion: plan.FormatVersion, Event: e})
	if err != nil {
		return fmt.Errorf("encoding an event: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
