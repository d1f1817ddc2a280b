package view

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"archy.dev/archy/engine"
)

func TestNotHealthy(t *testing.T) {
	tests := []struct {
		name  string
		fails []engine.CheckFailure
		want  string
	}{
		{"none", nil, ""},
		{"one app", []engine.CheckFailure{{App: "electrs-ui", Reason: "exited (0)"}},
			"archy: status --check: 1 app not healthy:\n  electrs-ui: exited (0)\n"},
		{"the node and apps", []engine.CheckFailure{{Reason: "the daemon is degraded: lost podman"}, {App: "a", Reason: "missing"}, {App: "b", Reason: "starting: warming"}},
			"archy: status --check: 2 apps not healthy:\n  the daemon is degraded: lost podman\n  a: missing\n  b: starting: warming\n"},
		{"the node alone", []engine.CheckFailure{{Reason: "the daemon is degraded: lost podman"}},
			"archy: status --check: the node is not healthy:\n  the daemon is degraded: lost podman\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			NotHealthy(&b, "status --check", tt.fails)
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
