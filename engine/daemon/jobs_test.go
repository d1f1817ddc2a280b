package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"archy.dev/archy/engine"
	"archy.dev/archy/engine/enginetest"
	"archy.dev/archy/plan"
)

// A failing before job fails its app (no container), is retried under
// backoff and reported once while its message stays the same; fixed, the
// app converges on the next try.
func TestFailingJobIsRetriedWithBackoff(t *testing.T) {
	rt := enginetest.New()
	rt.SetJob("core-job-init", 3, "preparing\nno disk for the wallet\n", false)
	n := startOn(t, rt, func(dir string) {
		src := `package apps

apps: core: {
	name: "core", version: "1", role: "service"
	container: source: {type: "pull", image: "example.org/core:1"}
	jobs: [{name: "init", same_as_app: true, command: ["init"]}]
}
`
		if err := os.WriteFile(filepath.Join(dir, "core.cue"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	runs := func() int {
		c := 0
		for _, call := range rt.Calls() {
			if call == "create core-job-init" {
				c++
			}
		}
		return c
	}
	n.poll("three runs of the failing job", func() bool { return runs() >= 3 })
	if s := n.state("core"); s != "missing" {
		t.Errorf("core is %s while its before job fails", s)
	}
	n.d.mu.Lock()
	failures := n.d.apps["core"].jobFailures
	n.d.mu.Unlock()
	if failures < 2 {
		t.Errorf("jobFailures = %d after %d runs: not backing off", failures, runs())
	}
	rt.SetJob("core-job-init", 0, "done\n", false)
	n.poll("core to run once its job passes", func() bool { return n.state("core") == plan.StateRunning })
	n.waitFor("core", engine.EventStep, "create")
	c := 0
	for _, e := range n.seen {
		if e.App == "core" && e.Type == engine.EventFailure && strings.Contains(e.Message, "job init: exited 3") {
			c++
			if !strings.Contains(e.Message, "no disk for the wallet") {
				t.Errorf("failure without the log's tail: %q", e.Message)
			}
		}
	}
	if c != 1 {
		t.Errorf("job failure reported %d times, want once; events: %v", c, n.seen)
	}
	if _, err := rt.Inspect(context.Background(), "core-job-init"); err == nil {
		t.Error("the job's container was left behind")
	}
}
