package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
)

// POST /v1/node/{action}: the whole node's stop or start, with every
// app's outcome in the answer, failures included.
func TestNodeAction(t *testing.T) {
	f := newFake()
	f.allResult = engine.AllResult{
		Report: engine.Report{Outcomes: []engine.Outcome{
			{App: "bitcoin-ui", Done: []plan.Action{plan.Stop}, Duration: 1500 * time.Millisecond},
			{App: "electrs", Err: errors.New("stopping electrs: podman said no")},
			{App: "bitcoin-core", Done: []plan.Action{plan.Stop}, Duration: 40 * time.Second},
		}},
		Left: []string{"explorer"},
	}
	c := dial(t, serve(t, f))
	ctx := context.Background()
	for _, action := range []engine.Action{engine.ActStop, engine.ActStart} {
		got, err := c.ActAll(ctx, action)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(f.allResult, got, cmp.Comparer(func(a, b error) bool {
			return (a == nil) == (b == nil) && (a == nil || a.Error() == b.Error())
		})); diff != "" {
			t.Errorf("%s: result mismatch (-want +got):\n%s", action, diff)
		}
	}
	if !slices.Equal(f.allActs, []engine.Action{engine.ActStop, engine.ActStart}) {
		t.Errorf("acts %v", f.allActs)
	}

	hc := raw(c.Socket())
	code, _, body := request(t, hc, http.MethodPost, "/v1/node/restart")
	if code != http.StatusBadRequest || !strings.Contains(string(body), `unknown action \"restart\" for the whole node (start, stop)`) {
		t.Errorf("restart: %d %s", code, body)
	}
	code, _, body = request(t, hc, http.MethodPost, "/v1/node/stop")
	if code != http.StatusOK || !strings.Contains(string(body), `"apps":[{"app":"bitcoin-ui","done":["stop"],"duration_ms":1500}`) {
		t.Errorf("stop: %d %s", code, body)
	}
	f.mu.Lock()
	f.status.Degraded = "podman unreachable"
	f.mu.Unlock()
	if code, _, body := request(t, hc, http.MethodPost, "/v1/node/stop"); code != http.StatusServiceUnavailable {
		t.Errorf("degraded: %d %s", code, body)
	}
}
