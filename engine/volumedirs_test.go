package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"archy.dev/archy/engine"
	"archy.dev/archy/schema"
)

// An existing host path whose owner and mode are not the declared ones is
// reported by the plan, not changed: the converged app has nothing to do.
func TestPlanNotesVolumeOwner(t *testing.T) {
	a := testApp("db")
	dir := filepath.Join(t.TempDir(), "logs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil { // past the umask
		t.Fatal(err)
	}
	owner := fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid())
	a.Volumes = []schema.Volume{{HostPath: dir, Target: "/logs", Owner: "4242:4242", Mode: "0750"}}
	h := newHarness(t, a)
	h.apply(t, engine.PlanOptions{})

	p, err := h.node.Plan(context.Background(), h.cat, engine.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := p.Plan.Steps[0]
	want := fmt.Sprintf("volume %s is owned by %s, not 4242:4242, mode 0700, not 0750", dir, owner)
	if len(s.Actions) != 0 || !slices.ContainsFunc(s.Notes, func(n string) bool { return strings.HasPrefix(n, want) }) {
		t.Errorf("step %+v, want no actions and a note %q", s, want)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("host path %v, %v: want it left at 0700", fi.Mode(), err)
	}
}
