package plan

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"archy.dev/archy/schema"
)

func onNetworks(names ...string) func(*schema.App) {
	return func(a *schema.App) { a.Networks = names }
}

func TestNetworkMembershipIsASpecChange(t *testing.T) {
	before := Desired{App: app("electrs", onNetworks("bitcoin"))}
	obs := converged(before)
	after := Desired{App: app("electrs", onNetworks("bitcoin", "lan"))}
	p, err := Diff(Input{Desired: []Desired{after}, Observed: obs})
	if err != nil {
		t.Fatal(err)
	}
	s := p.Steps[0]
	if !s.Has(Recreate) || !strings.Contains(strings.Join(s.Reasons, ";"), "networks") {
		t.Errorf("want a recreate naming networks, got %v %v", s.Actions, s.Reasons)
	}
	// No networks at all keeps the hash of a spec made before the field.
	plain := app("ui")
	if js := SpecJSON(plain); strings.Contains(js, "networks") {
		t.Errorf("spec without networks mentions them: %s", js)
	}
}

func TestPruneRemovesOnlyUnusedArchyNetworks(t *testing.T) {
	core := Desired{App: app("core", onNetworks("bitcoin"))}
	obs := converged(core)
	// "old" carries an undeclared archy container (pruned with it), "busy"
	// a container archy does not own (kept), "empty" nothing.
	obs.Containers = append(obs.Containers,
		Container{ID: "x", Name: "old", State: StateRunning, Networks: []string{"old"},
			Labels: map[string]string{LabelApp: "old", LabelSpecHash: "h"}},
		Container{ID: "y", Name: "byhand", State: StateRunning, Networks: []string{"busy"}})
	obs.Networks = []string{"bitcoin", "busy", "empty", "old"}
	for _, tc := range []struct {
		prune bool
		want  []string
	}{
		{false, nil},
		{true, []string{"empty", "old"}},
	} {
		p, err := Diff(Input{Desired: []Desired{core}, Observed: obs, Prune: tc.prune})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, p.RemoveNetworks); diff != "" {
			t.Errorf("prune %t: networks to remove (-want +got):\n%s", tc.prune, diff)
		}
		if tc.prune && (p.Changes() < 3 || !p.Busy()) {
			t.Errorf("prune: changes %d, busy %t; want the container and two networks", p.Changes(), p.Busy())
		}
		if doc := p.Document(); !slices.Equal(doc.RemoveNetworks, p.RemoveNetworks) {
			t.Errorf("document: %v", doc.RemoveNetworks)
		}
	}
}
