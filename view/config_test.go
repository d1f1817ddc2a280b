package view

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"archy.dev/archy/catalog"
	"archy.dev/archy/schema"
)

// The config shows each app as archy acts on it: the legacy shorthand only
// as its pull source, a build context resolved, the stop defaults spelt
// out; the app in the catalogue is left as it is.
func TestConfigDocument(t *testing.T) {
	pulled := &schema.App{ID: "db", Container: schema.Container{
		Image: "example.org/db:1", PullPolicy: "missing",
		Source: &schema.Source{Type: schema.SourcePull, Image: "example.org/db:1", PullPolicy: "missing"},
	}}
	built := &schema.App{ID: "ui", Container: schema.Container{
		Source: &schema.Source{Type: schema.SourceBuild, Context: "../docker/ui", ContextDir: "/srv/docker/ui", Tag: "localhost/ui:local"},
	}}
	built.Stop = schema.Stop{Signal: "SIGINT", Timeout: schema.Duration(time.Minute)}
	cat := &catalog.Catalog{
		Apps:    map[string]*schema.App{"db": pulled, "ui": built},
		Secrets: map[string]*schema.SecretGen{"rpc": {Name: "rpc", Type: schema.GenRPCAuth, User: "ui"}},
	}
	doc := NewConfigDocument(cat)

	db := doc.Apps["db"]
	if db.Container.Image != "" || db.Container.PullPolicy != "" || db.Container.Source.Image != "example.org/db:1" {
		t.Errorf("db container = %+v, want the pull source only", db.Container)
	}
	if diff := cmp.Diff(ConfigStop{Signal: "SIGTERM", Timeout: schema.Duration(10 * time.Second)}, db.Stop); diff != "" {
		t.Errorf("db stop (-want +got):\n%s", diff)
	}
	if db.Dependencies == nil || db.Extensions == nil {
		t.Errorf("db: nil dependencies or extensions, want empty ones")
	}
	ui := doc.Apps["ui"]
	if got := ui.Container.Source.Context; got != "/srv/docker/ui" {
		t.Errorf("ui context = %q, want the resolved directory", got)
	}
	if built.Container.Source.Context != "../docker/ui" {
		t.Errorf("the catalogue's app was changed: context %q", built.Container.Source.Context)
	}
	if diff := cmp.Diff(ConfigStop{Signal: "SIGINT", Timeout: schema.Duration(time.Minute)}, ui.Stop); diff != "" {
		t.Errorf("ui stop (-want +got):\n%s", diff)
	}

	var y bytes.Buffer
	if err := ConfigYAML(&y, NewConfigDocument(&catalog.Catalog{Secrets: cat.Secrets})); err != nil {
		t.Fatal(err)
	}
	want := `format_version: 1
apps: {}
secrets:
  rpc:
    name: rpc
    type: rpcauth
    user: ui
`
	if diff := cmp.Diff(want, y.String()); diff != "" {
		t.Errorf("YAML (-want +got):\n%s", diff)
	}
}
