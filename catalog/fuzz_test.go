package catalog

import (
	"errors"
	"testing"
)

// FuzzLoad feeds arbitrary text as an app file: loading must never panic,
// and every problem it reports must point at a file.
func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		`package apps
apps: a: {name: "a", version: "1", container: image: "docker.io/library/busybox:1.36"}`,
		`package apps
apps: a: {name: "a", version: "1", role: "ui", container: source: {type: "build", context: "../x", tag: "localhost/a:1"}
	dependencies: [{app_id: "a"}, {app_id: "b", condition: "started"}]}
apps: b: {name: "b", version: "1", container: image: "x", dependencies: [{app_id: "a"}], ports: [{container: 1, host: 2}]}`,
		`package apps
apps: "A B": {`,
		`package other
x: 1`,
		`package apps
import "archy.dev/archy/schema"
apps: a: schema.#App & {name: 1}`,
		`package apps
apps: [string]: {version: "1"}
apps: a: {name: "a", container: {}, extensions: container_name: "b"}
apps: b: {name: "b", version: "1", container: image: "x"}`,
		"\x00\xff{",
	} {
		f.Add(seed)
	}
	const dir = "/archy-fuzz/apps"
	f.Fuzz(func(t *testing.T, src string) {
		_, err := Load(dir, Options{Overlay: map[string][]byte{dir + "/a.cue": []byte(src)}})
		if err == nil {
			return
		}
		var diags Diagnostics
		if !errors.As(err, &diags) {
			t.Fatalf("error is not Diagnostics: %v", err)
		}
		for _, d := range diags {
			if !d.Pos.IsValid() || d.Pos.Line < 1 {
				t.Errorf("diagnostic without a position: %q", d.String())
			}
		}
	})
}
