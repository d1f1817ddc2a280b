package view

import (
	"testing"
	"time"

	"archy.dev/archy/engine"
)

func TestStatusLine(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	up := func(app string) engine.AppStatus {
		return engine.AppStatus{App: app, State: "running", Health: engine.Healthy}
	}
	with := func(a engine.AppStatus, f func(*engine.AppStatus)) engine.AppStatus { f(&a); return a }
	tests := []struct {
		name string
		ns   engine.NodeStatus
		want string
	}{
		{name: "no apps", want: "0 apps"},
		{name: "all healthy", ns: engine.NodeStatus{Apps: []engine.AppStatus{up("a"), up("b")}},
			want: "2 apps: 2 healthy"},
		{name: "one app", ns: engine.NodeStatus{Apps: []engine.AppStatus{up("a")}}, want: "1 app: 1 healthy"},
		{name: "podman unreachable, details dropped",
			ns:   engine.NodeStatus{Degraded: "podman unreachable: dial unix /run/podman/podman.sock: connect: no such file or directory"},
			want: "podman unreachable"},
		{name: "not connected yet", ns: engine.NodeStatus{Degraded: "not connected to podman yet"},
			want: "not connected to podman yet"},
		{name: "the issue's example", ns: engine.NodeStatus{Apps: []engine.AppStatus{
			up("a"), up("b"), up("c"), up("d"), up("e"), up("f"), up("g"), up("h"), up("i"), up("j"), up("k"),
			with(up("bitcoin-core"), func(a *engine.AppStatus) { a.Health = "starting: Loading block index…" }),
			{App: "lnd", State: "exited", BackoffUntil: now.Add(7*time.Second + 300*time.Millisecond)},
		}}, want: "13 apps: 11 healthy, 1 starting, lnd backing off 8s"},
		{name: "a whole countdown is not rounded up", ns: engine.NodeStatus{Apps: []engine.AppStatus{
			{App: "lnd", State: "exited", BackoffUntil: now.Add(2 * time.Minute)},
		}}, want: "1 app: lnd backing off 2m0s"},
		{name: "a past backoff is over", ns: engine.NodeStatus{Apps: []engine.AppStatus{
			with(up("lnd"), func(a *engine.AppStatus) { a.BackoffUntil = now.Add(-time.Second) }),
		}}, want: "1 app: 1 healthy"},
		{name: "many backing off are counted", ns: engine.NodeStatus{Apps: []engine.AppStatus{
			{App: "a", State: "exited", BackoffUntil: now.Add(time.Second)},
			{App: "b", State: "exited", BackoffUntil: now.Add(time.Second)},
			{App: "c", State: "exited", BackoffUntil: now.Add(time.Second)},
		}}, want: "3 apps: 3 backing off"},
		{name: "each state once, in order", ns: engine.NodeStatus{Apps: []engine.AppStatus{
			up("ok"),
			{App: "nohc", State: "running"},
			with(up("sick"), func(a *engine.AppStatus) { a.Health = "unhealthy: HTTP 500" }),
			{App: "new", State: "missing"},
			{App: "dead", State: "exited", ExitCode: 1},
			{App: "off", State: "exited", Intent: []string{"stopped"}},
			{App: "gone", State: "missing", Intent: []string{"removed"}},
			{App: "db", State: "exited", DiskLow: "2 GiB free, needs 5 GiB"},
		}}, want: "8 apps: 1 healthy, 1 running, sick unhealthy, 1 missing, 1 down, 1 stopped, 1 removed, db stopped: disk low"},
		{name: "many unhealthy are counted", ns: engine.NodeStatus{Apps: []engine.AppStatus{
			with(up("a"), func(a *engine.AppStatus) { a.Health = "unhealthy: x" }),
			with(up("b"), func(a *engine.AppStatus) { a.Health = "unhealthy: x" }),
			with(up("c"), func(a *engine.AppStatus) { a.Health = "unhealthy: x" }),
		}}, want: "3 apps: 3 unhealthy"},
		{name: "two unhealthy are named", ns: engine.NodeStatus{Apps: []engine.AppStatus{
			with(up("a"), func(a *engine.AppStatus) { a.Health = "unhealthy: x" }),
			with(up("b"), func(a *engine.AppStatus) { a.Health = "unhealthy: x" }),
		}}, want: "2 apps: a, b unhealthy"},
		{name: "held and job noted besides", ns: engine.NodeStatus{Apps: []engine.AppStatus{
			with(up("lnd"), func(a *engine.AppStatus) { a.Held = "upgrade to generation 3 failed" }),
			{App: "db", State: "exited", Job: "job migrate failed: exit 1 (archy logs db --job migrate)", Failure: "job migrate failed"},
		}}, want: "2 apps: 1 healthy, 1 down, lnd held, db job failed"},
		{name: "a failed step noted", ns: engine.NodeStatus{Apps: []engine.AppStatus{
			{App: "ui", State: "missing", Failure: "build failed: exit status 1"},
		}}, want: "1 app: 1 missing, ui failed"},
		{name: "many notes are counted", ns: engine.NodeStatus{Apps: []engine.AppStatus{
			with(up("a"), func(a *engine.AppStatus) { a.Held = "x" }),
			with(up("b"), func(a *engine.AppStatus) { a.Held = "x" }),
			with(up("c"), func(a *engine.AppStatus) { a.Held = "x" }),
		}}, want: "3 apps: 3 healthy, 3 notes (archy status)"},
		{name: "rejected edit after the apps, first line clipped", ns: engine.NodeStatus{
			ConfigError: "apps.broken.name: conflicting values 1 and string (mismatched types int and string):\n    ./apps/bad.cue:3:14",
			Apps:        []engine.AppStatus{up("a")},
		}, want: "1 app: 1 healthy; apps rejected: apps.broken.name: conflicting values 1 and string (mismatch…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StatusLine(tt.ns, now); got != tt.want {
				t.Errorf("StatusLine:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}
