package plan_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"archy.dev/archy/catalog"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestSpecPinned pins the archy.spec label and the spec hash of apps that
// between them set every field that shapes a container. A changed hash
// recreates every container of every node on its next apply, so these
// files change only on purpose (go test ./plan -run TestSpecPinned -update).
func TestSpecPinned(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "specs", "*.json"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no spec inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var app schema.App
			if err := json.Unmarshal(b, &app); err != nil {
				t.Fatal(err)
			}
			spec := plan.SpecJSON(&app)
			golden(t, filepath.Join("specs", name+".golden"), fmt.Sprintf("spec: %s\nhash: %s\n", spec, plan.SpecHash(&app)))

			// An earlier generation is made again from the label alone.
			back, err := plan.AppFromSpec(&app, spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := plan.SpecJSON(back); got != spec {
				t.Errorf("SpecJSON(AppFromSpec(spec)) differs:\n%s", cmp.Diff(spec, got))
			}
		})
	}
}

// TestShippedSpecsPinned pins the spec hashes of the shipped apps, decoded
// from CUE as archy loads them.
func TestShippedSpecsPinned(t *testing.T) {
	cat, err := catalog.Load("../apps", catalog.Options{HostPathRoots: []string{"/var/lib/archy"}})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, app := range cat.List() {
		fmt.Fprintf(&b, "%s %s\n", app.ID, plan.SpecHash(app))
	}
	golden(t, filepath.Join("specs", "shipped.golden"), b.String())
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s changed (-want +got):\n%s", path, diff)
	}
}

// TestSpecStopAndMinFree: default stop settings, written out or not, leave
// the spec of containers made before they existed alone; other settings
// are a spec change. min_free is never part of the spec.
func TestSpecStopAndMinFree(t *testing.T) {
	base := func() *schema.App {
		return &schema.App{ID: "a", Container: schema.Container{Source: &schema.Source{Type: schema.SourcePull, Image: "example.org/a:1"}},
			ContainerConfig: schema.ContainerConfig{Volumes: []schema.Volume{{Name: "a-data", Target: "/data"}}}}
	}
	want := plan.SpecHash(base())
	for _, tc := range []struct {
		name    string
		edit    func(*schema.App)
		changed bool
	}{
		{"defaults written out", func(a *schema.App) {
			a.Stop = schema.Stop{Signal: "SIGTERM", Timeout: schema.Duration(10 * time.Second)}
		}, false},
		{"min_free", func(a *schema.App) { a.Volumes[0].MinFree = "5Gi" }, false},
		{"signal", func(a *schema.App) { a.Stop.Signal = "SIGINT" }, true},
		{"timeout", func(a *schema.App) { a.Stop.Timeout = schema.Duration(10 * time.Minute) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := base()
			tc.edit(app)
			if got := plan.SpecHash(app) != want; got != tc.changed {
				t.Errorf("spec changed = %v, want %v: %s", got, tc.changed, plan.SpecJSON(app))
			}
			back, err := plan.AppFromSpec(app, plan.SpecJSON(app))
			if err != nil {
				t.Fatal(err)
			}
			if back.Stop.SignalName() != app.Stop.SignalName() || back.Stop.TimeoutOrDefault() != app.Stop.TimeoutOrDefault() {
				t.Errorf("AppFromSpec lost the stop settings: %+v, want %+v", back.Stop, app.Stop)
			}
		})
	}
}
