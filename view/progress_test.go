package view

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
)

// progressLines are every progress event with the line it prints: the
// lines engine.Applier printed itself before the engine emitted events.
var progressLines = []struct {
	ev   engine.ProgressEvent
	want string // "": no line
}{
	{engine.StepBlocked{App: "explorer", Reason: "image x is missing and pull_policy is never"}, "explorer: blocked: image x is missing and pull_policy is never"},
	{engine.StepSkipped{App: "ui-plugin", Reason: "dependency ui failed"}, "ui-plugin: skipped: dependency ui failed"},
	{engine.ImagesPruned{Prune: engine.ImagePrune{Removed: []engine.PrunedImage{{ID: "a", Size: 3 << 20}, {ID: "b"}}, Freed: 3 << 20}},
		"images: 2 images no longer used removed, 3.0 MiB freed"},
	{engine.ImagesPruned{Prune: engine.ImagePrune{Failed: []engine.PrunedImage{{ID: "a", Err: errors.New("image is in use by a container")}}}},
		"images: 0 images no longer used removed, 0 B freed; 1 image not removed: image is in use by a container"},
	{engine.NetworkRemoved{Name: "archy-sim"}, "network archy-sim: removed"},
	{engine.NetworkRemoved{Name: "lan", Err: errors.New("network lan is in use by web")}, "network lan: not removed: network lan is in use by web"},
	{engine.StepDone{App: "ui", Done: []plan.Action{plan.Build, plan.Recreate, plan.Start}, Took: 1249 * time.Millisecond}, "ui: built, recreated, started (1.2s)"},
	{engine.StepDone{App: "core", Took: 30 * time.Millisecond}, "core: nothing to do (0s)"},
	{engine.StepDone{App: "ui", Done: []plan.Action{plan.Build}, Took: 2260 * time.Millisecond, Err: errors.New("building ui: boom")}, "ui: failed after 2.3s: building ui: boom"},
	{engine.Building{App: "ui", Tag: "localhost/ui:local", Context: "../docker/ui"}, "ui: building localhost/ui:local from ../docker/ui"},
	{engine.Pulling{App: "core", Image: "docker.io/library/busybox:1.36"}, "core: pulling docker.io/library/busybox:1.36"},
	{engine.JobRunning{App: "lnd", Job: "create-wallet", When: "first-create"}, "lnd: running job create-wallet (first-create)"},
	{engine.JobDone{App: "lnd", Job: "create-wallet", Took: 1234 * time.Millisecond}, "lnd: job create-wallet done in 1.2s"},
	{engine.JobDone{App: "lnd", Job: "create-wallet", Took: time.Second, Err: errors.New("exited 1")}, "lnd: job create-wallet failed after 1s"},
	{engine.Output{App: "ui", Line: "STEP 1/2: FROM busybox"}, "    ui | STEP 1/2: FROM busybox"},
	{engine.Output{App: "ui", Line: "--> 3f4a5b6c7d8e"}, ""},
	{engine.Output{App: "ui", Line: strings.Repeat("ab12", 16)}, ""},
	{engine.Output{App: "ui", Line: strings.Repeat("AB12", 16)}, "    ui | " + strings.Repeat("AB12", 16)},
	{engine.NewImagePulled{App: "core", Held: true}, "core: the pull brought an image whose upgrade failed before; staying (archy upgrade core tries again)"},
	{engine.NewImagePulled{App: "core"}, "core: the pull brought a new image; recreating"},
	{engine.SavingVolumes{App: "db"}, "db: saving its volumes (snapshot_volumes)"},
	{engine.KeepingVolume{App: "db", Volume: "f00", Target: "/data"}, "db: keeping volume f00 at /data"},
	{engine.RemakingHeld{App: "ui", Generation: 1}, "ui: its container is missing and its target is held; making generation 1 again"},
	{engine.Proving{App: "ui", Timeout: 120 * time.Second}, "ui: proving the new container (health_timeout 2m0s)"},
	{engine.Proving{App: "ui", Generation: 2, Timeout: 6 * time.Second}, "ui: proving generation 2 (health_timeout 6s)"},
	{engine.RecordFailed{App: "ui", Generation: 4, Err: errors.New("disk full")}, "ui: warning: recording generation 4: disk full"},
	{engine.RollingBack{App: "ui", Reason: errors.New("not healthy within 6s"), To: 2}, "ui: the new container failed (not healthy within 6s); rolling back to generation 2"},
	{engine.RollingBack{App: "ui", Generation: 1, Reason: errors.New("exited (1) after it started")}, "ui: generation 1 failed (exited (1) after it started); rolling back to the container it replaced"},
	{engine.HoldingForward{App: "lnd", Generation: 4, Reason: errors.New("not healthy within 6s"), Previous: 3, Kept: "lnd-archy-previous"},
		"lnd: generation 4 failed (not healthy within 6s); forward-only: not rolling back; it is stopped and held; generation 3 stays set aside as lnd-archy-previous"},
	{engine.HoldingForward{App: "lnd", Generation: 2, Reason: errors.New("exited (1) after it started")},
		"lnd: generation 2 failed (exited (1) after it started); forward-only: not rolling back; it is stopped and held"},
	{engine.RestoringVolumes{App: "db"}, "db: restoring its volumes from before the upgrade"},
	{engine.WarmingUp{App: "core", Note: "Loading block index…", Until: time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)}, "core: warming up (Loading block index…); waiting until 15:04:05 at most"},
	{engine.RecoveryPuttingBack{App: "ui"}, "ui: an upgrade was interrupted after its old container was set aside; putting it back"},
	{engine.RecoveryProving{App: "ui"}, "ui: proving the container an interrupted upgrade made"},
	{engine.RecoveryFailed{App: "ui", Err: errors.New("exited (1) after it started")}, "ui: it failed (exited (1) after it started); putting the old container back"},
	{engine.RetryingStart{App: "ui", Err: errors.New("bind: address already in use")}, "ui: the old container did not start yet (bind: address already in use); trying again"},
	{engine.SetAsideRemoved{App: "ui", Container: "archy-ui-archy-previous"}, "ui: removing archy-ui-archy-previous, left set aside by an upgrade whose new container is proved"},
	{engine.SetAsideRestored{App: "ui", Container: "archy-ui-archy-previous"}, "ui: the app has no container; putting back archy-ui-archy-previous, left set aside by an interrupted upgrade"},
	{engine.UncleanStop{App: "bitcoin-core", Timeout: 600 * time.Second}, "warning: bitcoin-core was killed after its 600s stop timeout: its data may need recovery"},
	{engine.Waiting{Apps: []string{"core", "ui"}, Timeout: 5 * time.Minute}, "waiting for 2 apps to be healthy (at most 5m0s)"},
	{engine.WaitedHealthy{App: "ui", Took: 1249 * time.Millisecond}, "ui: healthy (1.2s)"},
	{engine.WaitedNotHealthy{App: "core", Timeout: 3 * time.Second, Err: &engine.StartingError{Note: "Loading block index…"}}, "core: not healthy within 3s: starting: Loading block index…"},
	{engine.WaitedNotHealthy{App: "ui", Timeout: 3 * time.Second, Err: errors.New("GET http://127.0.0.1:8080/: 404 Not Found")}, "ui: not healthy within 3s: unhealthy: GET http://127.0.0.1:8080/: 404 Not Found"},
}

func TestProgressLines(t *testing.T) {
	for _, tc := range progressLines {
		var b bytes.Buffer
		NewProgress(&b).Event(tc.ev)
		want := ""
		if tc.want != "" {
			want = tc.want + "\n"
		}
		if b.String() != want {
			t.Errorf("%#v:\n got %q\nwant %q", tc.ev, b.String(), want)
		}
	}
}

// Every event type the engine declares has a line here: a new one cannot
// be left unrendered.
func TestProgressLinesCoverEveryEvent(t *testing.T) {
	declared := progressEventTypes(t)
	for _, tc := range progressLines {
		if tc.want != "" {
			delete(declared, strings.TrimPrefix(fmt.Sprintf("%T", tc.ev), "engine."))
		}
	}
	for name := range declared {
		t.Errorf("engine.%s has no line in progressLines", name)
	}
}

// progressEventTypes are the names of the types package engine declares
// progressEvent on, in any of its files.
func progressEventTypes(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("../engine/*.go")
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "progressEvent" && fn.Recv != nil {
				declared[fmt.Sprint(fn.Recv.List[0].Type)] = true
			}
		}
	}
	if len(declared) == 0 {
		t.Fatal("found no event types in engine")
	}
	return declared
}

func TestPushing(t *testing.T) {
	var b bytes.Buffer
	NewProgress(&b).Pushing("ui", "localhost/ui:local", "127.0.0.1:5000/kube/ui:local")
	if want := "ui: pushing localhost/ui:local to 127.0.0.1:5000/kube/ui:local\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

// The daemon logs a record per line, with the line as its message.
func TestLogProgress(t *testing.T) {
	var b bytes.Buffer
	log := slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	p := LogProgress{Log: log}
	p.Event(engine.Building{App: "ui", Tag: "localhost/ui:local", Context: "../docker/ui"})
	p.Event(engine.Output{App: "ui", Line: "--> 3f4a5b6c7d8e"})
	p.Event(engine.StepDone{App: "ui", Done: []plan.Action{plan.Build}, Took: time.Second})
	want := `level=INFO msg="ui: building localhost/ui:local from ../docker/ui"
level=INFO msg="ui: built (1s)"
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}
