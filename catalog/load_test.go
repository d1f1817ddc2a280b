package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"archy.dev/archy/schema"
)

// writeTree writes files (slash paths relative to a new temp dir) and
// returns the dir.
func writeTree(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func mustLoad(t *testing.T, dir string) *Catalog {
	t.Helper()
	cat, err := Load(filepath.Join(dir, "apps"), Options{DataDir: "/var/lib/archy"})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cat
}

func TestContainerNameRule(t *testing.T) {
	dir := writeTree(t, map[string]string{"apps/a.cue": `package apps
apps: svc: {name: "s", version: "1", container: image: "docker.io/library/busybox:1.36"}
apps: web: {name: "w", version: "1", role: "ui", container: image: "docker.io/library/busybox:1.36"}
apps: old: {name: "o", version: "1", role: "ui", container: image: "docker.io/library/busybox:1.36"
	extensions: container_name: "legacy_name"}
`})
	cat := mustLoad(t, dir)
	got := map[string]string{}
	for id, app := range cat.Apps {
		got[id] = app.ContainerName
	}
	want := map[string]string{"svc": "svc", "web": "archy-web", "old": "legacy_name"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("container names (-want +got):\n%s", diff)
	}
}

func TestLegacyImageBecomesPullSource(t *testing.T) {
	dir := writeTree(t, map[string]string{"apps/a.cue": `package apps
apps: a: {name: "a", version: "1", container: {image: "docker.io/library/busybox:1.36", pull_policy: "always"}}
apps: b: {name: "b", version: "1", container: image: "docker.io/library/busybox:1.36"}
`})
	cat := mustLoad(t, dir)
	want := map[string]schema.Source{
		"a": {Type: "pull", Image: "docker.io/library/busybox:1.36", PullPolicy: "always"},
		"b": {Type: "pull", Image: "docker.io/library/busybox:1.36", PullPolicy: "missing"},
	}
	for id, w := range want {
		if diff := cmp.Diff(w, *cat.Apps[id].Container.Source); diff != "" {
			t.Errorf("%s source (-want +got):\n%s", id, diff)
		}
	}
	if len(cat.Warnings) != 0 {
		t.Errorf("warnings = %v, want none", cat.Warnings)
	}
}

func TestSourceWinsOverImageWithWarning(t *testing.T) {
	dir := writeTree(t, map[string]string{"apps/a.cue": `package apps
apps: a: {
	name: "a", version: "1"
	container: image: "docker.io/library/busybox:1.36"
	container: source: {type: "pull", image: "docker.io/library/alpine:3.20"}
}
`})
	cat := mustLoad(t, dir)
	if got := cat.Apps["a"].Container.Source.Image; got != "docker.io/library/alpine:3.20" {
		t.Errorf("image = %q, want the source's", got)
	}
	if len(cat.Warnings) != 1 || !strings.Contains(cat.Warnings[0].String(), "apps/a.cue:4:13: warning: app \"a\"") {
		t.Errorf("warnings = %v, want one at the image field", cat.Warnings)
	}
}

func TestDefaultsAndPositions(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"docker/ui/Dockerfile": "FROM scratch\n",
		"apps/ui.cue": `package apps

apps: ui: {
	name:    "UI"
	version: "1"
	role:    "ui"
	container: source: {
		type:    "build"
		context: "../docker/ui"
		tag:     "localhost/ui:local"
	}
	dependencies: [
		{app_id: "db"},
	]
	health_check: {type: "http", endpoint: "http://127.0.0.1:8080"}
}
`,
		"apps/db.cue": `package apps

apps: db: {name: "DB", version: "1", container: image: "docker.io/library/postgres:16.4"
	health_check: {type: "tcp", port: 5432}}
`})
	cat := mustLoad(t, dir)
	ui := cat.Apps["ui"]
	src := ui.Container.Source
	if src.Dockerfile != "Dockerfile" || src.AlwaysRebuild || src.ContextDir != filepath.Join(dir, "docker", "ui") {
		t.Errorf("build source = %+v, want defaults and the context resolved against apps/", src)
	}
	if ui.Dependencies[0].Condition != "healthy" || ui.Security.NetworkPolicy != "bridge" || ui.HealthCheck.Path != "/" {
		t.Errorf("defaults not applied: %+v", ui)
	}
	if got := ui.HealthCheck.Retries; got != 3 {
		t.Errorf("retries = %d, want 3", got)
	}
	rel := func(p schema.Pos) string { return filepath.Base(p.File) + ":" + strings.SplitN(p.String(), ":", 2)[1] }
	checks := map[string]string{
		"":                         "ui.cue:3:7",
		"container.source.context": "ui.cue:9:3",
		"dependencies[0].app_id":   "ui.cue:13:4",
		"dependencies[0]":          "ui.cue:13:3",
		"ports[3]":                 "ui.cue:3:7", // absent: falls back to the app
	}
	for path, want := range checks {
		if got := rel(ui.PosOf(path)); got != want {
			t.Errorf("PosOf(%q) = %s, want %s", path, got, want)
		}
	}
}

func TestSchemaImportWorksOutsideAModule(t *testing.T) {
	dir := writeTree(t, map[string]string{"apps/a.cue": `package apps

import "archy.dev/archy/schema"

apps: a: schema.#App & {name: "a", version: "1", container: image: "docker.io/library/busybox:1.36"}
`})
	cat := mustLoad(t, dir)
	if cat.Apps["a"].ContainerName != "a" {
		t.Errorf("app not loaded through the imported schema: %+v", cat.Apps["a"])
	}
}

func TestErrorsAreAllReportedWithPositions(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"apps/a.cue": `package apps
apps: a: {name: "a", version: "1", container: image: "docker.io/library/busybox:1.36"
	dependencies: [{app_id: "b"}]}
`,
		"apps/b.cue": `package apps
apps: b: {name: "b", version: "1", container: image: "docker.io/library/busybox:1.36"
	dependencies: [{app_id: "a"}, {app_id: "nope"}]
	role: "gui"}
apps: c: {name: "c", version: "1", container: image: "docker.io/library/busybox:1.36"
	dependencies: [{app_id: "nope"}]}
`})
	_, err := Load(filepath.Join(dir, "apps"), Options{})
	var diags Diagnostics
	if !errors.As(err, &diags) {
		t.Fatalf("err = %v, want Diagnostics", err)
	}
	var got []string
	for _, d := range diags {
		got = append(got, filepath.Base(d.Pos.File)+":"+strings.SplitN(d.Pos.String(), ":", 2)[1]+" "+d.App+" "+d.Msg)
	}
	want := []string{
		`b.cue:4:2 b "gui" is not allowed; want one of "service", "ui"`,
		`b.cue:6:18 c unknown dependency "nope"`,
	}
	// b fails the schema, so only a and c are checked further: a's
	// dependency on b is known (no knock-on error) and c's is reported.
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}

// TestLoadGeneratedSecrets checks the declarations beside apps: defaults
// filled in, the name set, and where each is declared.
func TestLoadGeneratedSecrets(t *testing.T) {
	dir := writeTree(t, map[string]string{"apps/apps.cue": `package apps

apps: a: {name: "A", version: "1", container: image: "example.org/a:1"}
secrets: tok: generate: type: "random"
secrets: rpc: generate: {type: "rpcauth", user: "lnd"}
`})
	cat := mustLoad(t, dir)
	got := map[string]schema.SecretGen{}
	for n, g := range cat.Secrets {
		got[n] = *g
		if g.Pos.Line == 0 {
			t.Errorf("%s has no position", n)
		}
	}
	want := map[string]schema.SecretGen{
		"tok": {Name: "tok", Type: "random", Length: 32, Alphabet: "hex"},
		"rpc": {Name: "rpc", Type: "rpcauth", User: "lnd"},
	}
	if diff := cmp.Diff(want, got, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Pos" }, cmp.Ignore())); diff != "" {
		t.Errorf("secrets (-want +got):\n%s", diff)
	}
	if got := cat.Secrets["rpc"].SecretNames(); strings.Join(got, " ") != "rpc rpc-rpcauth" {
		t.Errorf("rpc makes %v", got)
	}
}
