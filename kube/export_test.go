package kube

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"archy.dev/archy/catalog"
	"archy.dev/archy/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// load loads a catalogue the way archy export kube does.
func load(t *testing.T, dir string, tags ...string) []*schema.App {
	t.Helper()
	cat, err := catalog.Load(dir, catalog.Options{Tags: tags, HostPathRoots: []string{"/var/lib/archy"}})
	if err != nil {
		t.Fatalf("loading %s: %v", dir, err)
	}
	return cat.List()
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./kube -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test ./kube -update rewrites it):\n%s", path, diff)
	}
}

// TestGolden exports the real catalogue and the simulated node; every
// document must decode strictly into its Kubernetes type.
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		apps []*schema.App
		opts Options
	}{
		{"apps.golden", load(t, "../apps"), Options{}},
		{"apps-wait.golden", load(t, "../apps"), Options{Namespace: "node", WaitImage: "docker.io/library/busybox:1.36", ImageRegistry: "registry.lan:5000/archy",
			VolumeSizes: map[string]string{"": "10Gi", "bitcoin-data": "1Ti"}}},
		{"node.golden", load(t, "../testdata/node/apps", "port_base=18000", "registry=127.0.0.1:5000"), Options{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, err := Build(tc.apps, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := x.WriteYAML(&b); err != nil {
				t.Fatal(err)
			}
			for _, w := range x.Warnings {
				b.WriteString("# warning: " + w.String() + "\n")
			}
			golden(t, tc.name, b.Bytes())
			objs, err := Decode(bytes.NewReader(b.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) != len(x.Objects) {
				t.Errorf("decoded %d objects, exported %d", len(objs), len(x.Objects))
			}
		})
	}
}
