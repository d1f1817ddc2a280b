package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"archy.dev/archy/engine"
)

// EventsSince asks the daemon with ?since=RFC3339 and drops itself what
// is not after since, as the daemon's ring does, whatever the daemon
// replays (here: two events too many, as a daemon that ignores since
// might send).
func TestEventsSince(t *testing.T) {
	since := time.Date(2026, 5, 1, 12, 0, 0, 500_000_000, time.FixedZone("CEST", 2*3600))
	queries := make(chan string, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/ping", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(PingDocument{FormatVersion: FormatVersion})
	})
	mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, r *http.Request) {
		queries <- r.URL.RawQuery
		w.Header().Set("Content-Type", "text/event-stream")
		for _, e := range []engine.Event{
			{Time: since.Add(-time.Millisecond), Type: engine.EventStep, App: "old", Message: "before since"},
			{Time: since, Type: engine.EventStep, App: "lnd", Message: "at since"},
			{Time: since.Add(time.Nanosecond), Type: engine.EventStep, App: "lnd", Message: "just after since"},
			{Time: since.Add(time.Minute), Type: engine.EventFailure, App: "lnd-ui", Message: "after since"},
		} {
			data, _ := json.Marshal(e)
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Type, data)
		}
	})
	sock := filepath.Join(t.TempDir(), "archy.sock")
	serveAt(t, sock, mux)
	c := dial(t, sock)
	events, err := c.EventsSince(context.Background(), since)
	if err != nil {
		t.Fatal(err)
	}
	if q := <-queries; q != "since=2026-05-01T10%3A00%3A00.5Z" {
		t.Errorf("query %q", q)
	}
	var got []string
	for e := range events { // the handler returns: the stream ends
		got = append(got, e.App+": "+e.Message)
	}
	if diff := cmp.Diff([]string{"lnd: just after since", "lnd-ui: after since"}, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// Without since, Events asks for no replay.
func TestEventsNoSince(t *testing.T) {
	queries := make(chan string, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/ping", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(PingDocument{FormatVersion: FormatVersion})
	})
	mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, r *http.Request) {
		queries <- r.URL.RawQuery
		w.Header().Set("Content-Type", "text/event-stream")
	})
	sock := filepath.Join(t.TempDir(), "archy.sock")
	serveAt(t, sock, mux)
	events, err := dial(t, sock).Events(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if q := <-queries; q != "" {
		t.Errorf("query %q, want none", q)
	}
	for range events {
	}
}
