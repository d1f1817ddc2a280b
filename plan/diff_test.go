package plan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"archy.dev/archy/schema"
)

func app(id string, mod ...func(*schema.App)) *schema.App {
	a := &schema.App{
		ID: id, ContainerName: id, Role: "service",
		Container: schema.Container{Source: &schema.Source{Type: "pull", Image: "docker.io/example/" + id + ":1", PullPolicy: "missing"}},
		ContainerConfig: schema.ContainerConfig{
			Environment: map[string]string{},
			Security:    schema.Security{NetworkPolicy: "bridge"},
		},
	}
	for _, m := range mod {
		m(a)
	}
	return a
}

func built(a *schema.App) {
	a.Container.Source = &schema.Source{Type: "build", Tag: "localhost/" + a.ID + ":local", Dockerfile: "Dockerfile"}
}

func dependsOn(ids ...string) func(*schema.App) {
	return func(a *schema.App) {
		for _, id := range ids {
			a.Dependencies = append(a.Dependencies, schema.Dependency{AppID: id, Condition: "healthy"})
		}
	}
}

// converged returns the observed state archy leaves behind for apps.
func converged(ds ...Desired) Observed {
	var o Observed
	for _, d := range ds {
		ref := NormalizeRef(d.App.Container.Source.ImageRef())
		o.Images = append(o.Images, Image{ID: "img-" + d.App.ID, Tags: []string{ref},
			Labels: map[string]string{LabelContextHash: d.ContextHash}})
		o.Containers = append(o.Containers, Container{ID: "ctr-" + d.App.ID, Name: d.App.ContainerName,
			State: StateRunning, ImageID: "img-" + d.App.ID, Image: ref,
			Labels: map[string]string{LabelApp: d.App.ID, LabelSpecHash: SpecHash(d.App), LabelSpec: SpecJSON(d.App)}})
	}
	return o
}

// summary renders steps compactly: "app: actions | reasons | notes".
func summary(p Plan) []string {
	var out []string
	for _, s := range p.Steps {
		line := fmt.Sprintf("%d %s: %v | %v", s.Level, s.App, s.Actions, s.Reasons)
		if s.Blocked != "" {
			line += " | blocked: " + s.Blocked
		}
		if len(s.Notes) > 0 {
			line += fmt.Sprintf(" | notes: %v", s.Notes)
		}
		if s.Refresh {
			line += " | refresh"
		}
		out = append(out, line)
	}
	return out
}

func TestDiff(t *testing.T) {
	core := Desired{App: app("core")}
	ui := Desired{App: app("ui", built, dependsOn("core")), ContextHash: "ctx1"}
	node := []Desired{ui, core}

	withState := func(o Observed, name, state string, exit int, oom bool) Observed {
		o.Containers = append([]Container(nil), o.Containers...)
		for i := range o.Containers {
			if o.Containers[i].Name == name {
				o.Containers[i].State, o.Containers[i].ExitCode, o.Containers[i].OOMKilled = state, exit, oom
			}
		}
		return o
	}
	changedUI := Desired{App: app("ui", built, dependsOn("core"), func(a *schema.App) {
		a.Environment = map[string]string{"FOO": "2"}
		a.Ports = []schema.Port{{Container: 80, Host: 8081, Protocol: "tcp"}}
	}), ContextHash: "ctx1"}
	handMade := converged(core)
	handMade.Containers[0].Labels = map[string]string{}
	handMade.Containers[0].Image = "docker.io/example/core:0.9"

	tests := []struct {
		name string
		in   Input
		want []string
	}{
		{"fresh node: build or pull, create, start in dependency order",
			Input{Desired: node},
			[]string{
				"1 core: [pull create start] | [image docker.io/example/core:1 missing container missing]",
				"2 ui: [build create start] | [image localhost/ui:local missing container missing]",
			}},
		{"converged: nothing to do",
			Input{Desired: node, Observed: converged(node...)},
			[]string{"1 core: [] | []", "2 ui: [] | []"}},
		{"exited and OOM-killed containers are started with the reason",
			Input{Desired: node, Observed: withState(withState(converged(node...), "core", "exited", 137, false), "ui", "exited", 137, true)},
			[]string{"1 core: [start] | [exited (137)]", "2 ui: [start] | [killed out of memory (exit 137)]"}},
		{"operator stopped an app: a running one is stopped, a stopped one stays",
			Input{Desired: node, Observed: withState(converged(node...), "ui", "exited", 0, false),
				Intent: Intent{"core": {Stopped: true}, "ui": {Stopped: true}}},
			[]string{"1 core: [stop] | [stopped by the operator (archy stop)]", "2 ui: [] | []"}},
		{"held for low disk space: a running one is stopped, a stopped one stays, with why",
			Input{Desired: node, Observed: withState(converged(node...), "ui", "exited", 0, false),
				Intent: Intent{"core": {DiskLow: "1 MiB free on /d, below min_free 2Mi"}, "ui": {DiskLow: "its dependency core is stopped"}}},
			[]string{"1 core: [stop] | [stopped for low disk space: 1 MiB free on /d, below min_free 2Mi]", "2 ui: [] | [] | notes: [stays stopped (low disk space: its dependency core is stopped)]"}},
		{"held kept stopped (a forward-only upgrade failed): neither started nor stopped",
			func() Input {
				o := withState(converged(node...), "core", "exited", 1, false)
				held := TargetKey(core, o.Image(core.App.Container.Source.ImageRef()))
				return Input{Desired: node, Observed: o, Intent: Intent{"core": {Held: held, HeldStopped: true, HeldWhy: "generation 2 failed"}}}
			}(),
			[]string{"1 core: [] | [] | notes: [held: generation 2 failed (archy upgrade core tries again)]", "2 ui: [] | []"}},
		{"held kept stopped, but the target changed: it goes ahead",
			func() Input {
				o := withState(converged(node...), "ui", "exited", 1, false)
				held := TargetKey(ui, o.Image(ui.App.Container.Source.ImageRef()))
				return Input{Desired: []Desired{core, {App: ui.App, ContextHash: "ctx2"}}, Observed: o, Intent: Intent{"ui": {Held: held, HeldStopped: true}}}
			}(),
			[]string{"1 core: [] | []", "2 ui: [build recreate start] | [build context changed image is rebuilt]"}},
		{"context changed: rebuild and recreate",
			Input{Desired: []Desired{core, {App: ui.App, ContextHash: "ctx2"}}, Observed: converged(node...)},
			[]string{"1 core: [] | []", "2 ui: [build recreate start] | [build context changed image is rebuilt]"}},
		{"spec changed: recreate naming the fields",
			Input{Desired: []Desired{core, changedUI}, Observed: converged(node...)},
			[]string{"1 core: [] | []", "2 ui: [recreate start] | [environment.FOO added ports[0].container added ports[0].host added ports[0].protocol added]"}},
		{"hand-made container: adopted, started if stopped, never recreated; drift noted",
			Input{Desired: []Desired{core}, Observed: withState(handMade, "core", "exited", 0, false)},
			[]string{"1 core: [adopt start] | [container core exists but was not created by archy exited (0)] | notes: [runs docker.io/example/core:0.9, not docker.io/example/core:1: archy upgrade core recreates it]"}},
		{"hand-made from an archy-built image (its labels inherited): still adopted",
			Input{Desired: []Desired{core}, Observed: func() Observed {
				o := converged(core)
				o.Containers[0].Labels = map[string]string{LabelApp: "core", LabelContextHash: "x"}
				return o
			}()},
			[]string{"1 core: [adopt] | [container core exists but was not created by archy]"}},
		{"hand-made with other ports: adopted, the drift noted",
			Input{Desired: []Desired{{App: app("core", func(a *schema.App) {
				a.Ports = []schema.Port{{Container: 80, Host: 8080, HostIP: "127.0.0.1", Protocol: "tcp"}}
			})}}, Observed: func() Observed {
				o := converged(core)
				o.Containers[0].Labels = nil
				o.Containers[0].Ports = []Port{{Host: 9090, Container: 80, Protocol: "tcp"}}
				return o
			}()},
			[]string{"1 core: [adopt] | [container core exists but was not created by archy] | notes: [publishes 0.0.0.0:9090->80/tcp, not 127.0.0.1:8080->80/tcp: archy upgrade core recreates it]"}},
		{"adopted earlier: nothing to do, drift still noted",
			Input{Desired: []Desired{core}, Observed: handMade, Intent: Intent{"core": {Adopted: true}}},
			[]string{"1 core: [] | [] | notes: [runs docker.io/example/core:0.9, not docker.io/example/core:1: archy upgrade core recreates it]"}},
		{"upgrade recreates an adopted container",
			Input{Desired: []Desired{core}, Observed: handMade, Intent: Intent{"core": {Adopted: true}}, Upgrade: map[string]bool{"core": true}},
			[]string{"1 core: [pull recreate start] | [upgrade: pull the newest image for the tag upgrade requested (the container was not created by archy)]"}},
		{"removed by the operator: stays absent, and goes again if recreated behind archy's back",
			Input{Desired: []Desired{core, ui}, Observed: converged(ui), Intent: Intent{"core": {Removed: true}, "ui": {Removed: true}}},
			[]string{"1 core: [] | [] | notes: [removed by the operator: archy start core brings it back]",
				"2 ui: [remove] | [removed by the operator (archy rm)]"}},
		{"secret values changed: recreate",
			Input{Desired: []Desired{{App: core.App, SecretsHash: "s2"}}, Observed: converged(core), Intent: Intent{"core": {SecretsHash: "s1"}}},
			[]string{"1 core: [recreate start] | [secret values changed]"}},
		{"image retagged behind archy's back: recreate",
			Input{Desired: []Desired{core}, Observed: func() Observed { o := converged(core); o.Images[0].ID = "img-new"; return o }()},
			[]string{"1 core: [recreate start] | [image docker.io/example/core:1 now points to a new image]"}},
		{"pull_policy never with the image missing: blocked",
			Input{Desired: []Desired{{App: app("core", func(a *schema.App) { a.Container.Source.PullPolicy = "never" })}}},
			[]string{"1 core: [] | [] | blocked: image docker.io/example/core:1 is missing and pull_policy is never"}},
		{"pull_policy always pulls every time, as a refresh that changes nothing by itself",
			Input{Desired: []Desired{{App: app("core", func(a *schema.App) { a.Container.Source.PullPolicy = "always" })}}, Observed: converged(core)},
			[]string{"1 core: [pull] | [pull_policy is always] | refresh"}},
		{"upgrade pulls the tag again and recreates",
			Input{Desired: []Desired{core}, Observed: converged(core), Upgrade: map[string]bool{"core": true}},
			[]string{"1 core: [pull recreate start] | [upgrade: pull the newest image for the tag upgrade requested]"}},
		{"upgrade rebuilds and recreates",
			Input{Desired: []Desired{ui}, Observed: converged(ui), Upgrade: map[string]bool{"ui": true}},
			[]string{"1 ui: [build recreate start] | [upgrade requested image is rebuilt]"}},
		{"renamed container: the old one is removed first, the new one created",
			Input{Desired: []Desired{{App: app("core", func(a *schema.App) { a.ContainerName = "core-new" })}}, Observed: converged(core)},
			[]string{"1 core: [create start] | [container missing]", "0 core: [remove] | [app core's container is now named core-new]"}},
		{"adopted container on an older image of its tag: noted",
			Input{Desired: []Desired{core}, Observed: func() Observed {
				o := converged(core)
				o.Containers[0].Labels = nil
				o.Containers[0].ImageID = "img-old"
				return o
			}(), Intent: Intent{"core": {Adopted: true}}},
			[]string{"1 core: [] | [] | notes: [runs an older image of docker.io/example/core:1: archy upgrade core recreates it]"}},
		{"an app renamed, adopting its old container by name: never pruned",
			Input{Desired: []Desired{{App: app("lnd2", func(a *schema.App) { a.ContainerName, a.Container.Source.Image = "lnd", "docker.io/example/lnd:1" })}}, Observed: converged(Desired{App: app("lnd")}), Prune: true},
			[]string{"1 lnd2: [adopt] | [container lnd was created by archy for app lnd]"}},
		{"adopted from another app: nothing to do, with or without prune",
			Input{Desired: []Desired{{App: app("lnd2", func(a *schema.App) { a.ContainerName, a.Container.Source.Image = "lnd", "docker.io/example/lnd:1" })}}, Observed: converged(Desired{App: app("lnd")}),
				Intent: Intent{"lnd2": {Adopted: true}}, Prune: true},
			[]string{"1 lnd2: [] | []"}},
		{"a container another app declares now is that app's, not its creator's old one",
			Input{Desired: []Desired{
				{App: app("core", func(a *schema.App) { a.ContainerName = "core-new" })},
				{App: app("ui", func(a *schema.App) { a.ContainerName, a.Container.Source.Image = "core", "docker.io/example/core:1" })},
			}, Observed: converged(core), Prune: true},
			[]string{"1 core: [create start] | [container missing]", "1 ui: [adopt] | [container core was created by archy for app core]"}},
		{"undeclared archy container: noted, removed only with prune",
			Input{Desired: []Desired{core}, Observed: converged(core, ui)},
			[]string{"1 core: [] | []", "0 ui: [] | [app ui is no longer declared] | notes: [archy apply --prune removes it]"}},
		{"prune removes it",
			Input{Desired: []Desired{core}, Observed: converged(core, ui), Prune: true},
			[]string{"1 core: [] | []", "0 ui: [remove] | [app ui is no longer declared]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Diff(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, summary(p)); diff != "" {
				t.Errorf("plan mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFingerprintMovesWithLiveState(t *testing.T) {
	core := Desired{App: app("core")}
	a, _ := Diff(Input{Desired: []Desired{core}, Observed: converged(core)})
	b, _ := Diff(Input{Desired: []Desired{core}, Observed: converged(core)})
	if a.Fingerprint != b.Fingerprint {
		t.Fatal("same input, different fingerprints")
	}
	moved := converged(core)
	moved.Containers[0].State = StateExited
	c, _ := Diff(Input{Desired: []Desired{core}, Observed: moved})
	if c.Fingerprint == a.Fingerprint {
		t.Error("fingerprint did not change when a container stopped")
	}
}

func TestNormalizeRef(t *testing.T) {
	hex64 := strings.Repeat("ab", 32)
	for in, want := range map[string]string{
		"nginx":                           "docker.io/library/nginx:latest",
		"nginx:1.27":                      "docker.io/library/nginx:1.27",
		"docker.io/nginx:1":               "docker.io/library/nginx:1",
		"btcpayserver/bitcoinknots:28.1":  "docker.io/btcpayserver/bitcoinknots:28.1",
		"localhost/ui:local":              "localhost/ui:local",
		"127.0.0.1:5000/sim/explorer:1.0": "127.0.0.1:5000/sim/explorer:1.0",
		"127.0.0.1:5000/sim/explorer":     "127.0.0.1:5000/sim/explorer:latest",
		"ghcr.io/x/y@sha256:" + hex64:     "ghcr.io/x/y@sha256:" + hex64,
		"ghcr.io/x/y:1@sha256:" + hex64:   "ghcr.io/x/y:1@sha256:" + hex64,
		"docker.io/library/nginx:latest":  "docker.io/library/nginx:latest",
		"index.docker.io/nginx":           "docker.io/library/nginx:latest",
		"localhost:5000/a":                "localhost:5000/a:latest",
		"Not A Ref":                       "Not A Ref",
	} {
		if got := NormalizeRef(in); got != want {
			t.Errorf("NormalizeRef(%q) = %q, want %q", in, got, want)
		}
	}
}

// A blocked app (Desired.Blocked: a secret nowhere to be had) has no
// actions; the apps waiting on it, directly or not, say apply skips them.
func TestBlockedAppHoldsBackItsDependents(t *testing.T) {
	lnd := Desired{App: app("lnd"), Blocked: "secret lnd-wallet-password is missing"}
	p, err := Diff(Input{Desired: []Desired{lnd, {App: app("ui", dependsOn("lnd"))},
		{App: app("plugin", dependsOn("ui"))}, {App: app("other")}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"1 lnd: [] | [] | blocked: secret lnd-wallet-password is missing",
		"1 other: [pull create start] | [image docker.io/example/other:1 missing container missing]",
		"2 ui: [pull create start] | [image docker.io/example/ui:1 missing container missing] | notes: [skipped while dependency lnd is blocked]",
		"3 plugin: [pull create start] | [image docker.io/example/plugin:1 missing container missing] | notes: [skipped while dependency lnd is blocked]",
	}
	if diff := cmp.Diff(want, summary(p)); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	if !p.Blocked() {
		t.Error("plan not blocked")
	}
}

// TestDirNotes: an existing volume whose owner or mode is not the declared
// one is a note, not a change (nor a recreate: owner and mode are not in
// the spec hash).
func TestDirNotes(t *testing.T) {
	owned := func(a *schema.App) {
		a.Volumes = []schema.Volume{
			{Name: "db-data", Target: "/data", Owner: "1000:1000", Mode: "750"},
			{HostPath: "/var/lib/archy/db/logs", Target: "/logs", Owner: "1000:1000"},
			{Name: "db-cache", Target: "/cache"},
		}
	}
	plain := Desired{App: app("db", func(a *schema.App) {
		owned(a)
		for i := range a.Volumes {
			a.Volumes[i].Owner, a.Volumes[i].Mode = "", ""
		}
	})}
	d := Desired{App: app("db", owned), Dirs: []Dir{
		{Volume: 0, Owner: "0:0", Mode: "0755"},
		{Volume: 1, Owner: "1000:1000", Mode: "0700"},
	}}
	p, err := Diff(Input{Desired: []Desired{d}, Observed: converged(plain)})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1 db: [] | [] | notes: [volume db-data is owned by 0:0, not 1000:1000, mode 0755, not 0750: archy sets them on creation only; change existing data by hand (docs/volumes.md)]"}
	if diff := cmp.Diff(want, summary(p)); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
}
