package layers

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "archy.dev/archy"

// stages is the pipeline, in order (docs/architecture.md): a package may
// import packages of its own or an earlier stage, never of a later one.
// internal/ packages are leaves below every stage: they import nothing of
// archy's stages. A new package must be placed here.
var stages = map[string]int{
	"internal/atomicfile":  0,
	"internal/buildctx":    0,
	"internal/diskfree":    0,
	"internal/faultpoint":  0,
	"internal/memtrim":     0,
	"internal/notfound":    0,
	"internal/podmantest":  0,
	"internal/layers":      0,
	"internal/manpage":     0,
	"internal/shellcomp":   0,
	"internal/journal":     0,
	"internal/browsertest": 0, // tests only
	"schema":               1,
	"graph":                2,
	"catalog":              3,
	"plan":                 4,
	"kube":                 5, // a side branch: the apps as Kubernetes objects
	"engine/state":         5, // parts of the engine it imports, not the other way
	"engine/secrets":       5,
	"engine/volsnap":       5,
	"engine":               6,
	"engine/podman":        7,
	"engine/enginetest":    7, // the fake runtime: for tests only (testOnly)
	"engine/api":           7,
	"engine/api/page":      7, // the status page's files, served by engine/api
	"engine/daemon":        8,
	"view":                 9,
	"cmd/archy":            10,
}

// testOnly are packages only tests may import.
var testOnly = map[string]bool{"engine/enginetest": true, "internal/browsertest": true}

type pkg struct {
	ImportPath string
	Deps       []string // every package it depends on, transitively (go list -deps)
}

// TestPipelineOrder fails when a package depends, directly or through
// others, on a package of a later stage or on a test-only package, or when
// a package has no stage. (Deps leaves tests' imports out.)
func TestPipelineOrder(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Deps", module+"/...").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		seen++
		name := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		stage, ok := stages[name]
		if !ok {
			t.Errorf("%s has no stage: place it in stages (and in docs/architecture.md)", name)
			continue
		}
		for _, d := range p.Deps {
			if !strings.HasPrefix(d, module+"/") {
				continue
			}
			dep := strings.TrimPrefix(d, module+"/")
			if ds, ok := stages[dep]; ok && ds > stage {
				t.Errorf("%s (stage %d) depends on %s (stage %d), a later stage", name, stage, dep, ds)
			}
			if testOnly[dep] {
				t.Errorf("%s depends on %s, which only tests may import", name, dep)
			}
			if strings.HasPrefix(name, "internal/") && !strings.HasPrefix(dep, "internal/") {
				t.Errorf("%s is a leaf but depends on %s", name, dep)
			}
		}
	}
	if seen < len(stages) {
		t.Errorf("go list found %d packages, the stages name %d: drop the ones that are gone", seen, len(stages))
	}
}
