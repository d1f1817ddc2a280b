package engine_test

import (
	"context"
	"testing"

	. "archy.dev/archy/engine"
	"archy.dev/archy/schema"
)

// TestApplyGeneratesConsumedSecretsOnce: a generated secret counts as
// present for the plan, apply makes it (and only the consumed ones)
// before creating its consumer, and the next plan changes nothing.
func TestApplyGeneratesConsumedSecretsOnce(t *testing.T) {
	core := testApp("core")
	core.Secrets = []schema.Secret{{Name: "tok", Env: "TOKEN"}}
	h := newHarness(t, core)
	h.cat.Secrets = map[string]*schema.SecretGen{
		"tok":   {Name: "tok", Type: schema.GenRandom, Length: 32, Alphabet: schema.AlphabetHex},
		"spare": {Name: "spare", Type: schema.GenRandom, Length: 32, Alphabet: schema.AlphabetHex},
	}
	ctx := context.Background()
	pl, err := h.node.Plan(ctx, h.cat, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := h.node.Apply(ctx, pl, h.node.Applier(&h.out))
	if err != nil || rep.Err() != nil {
		t.Fatal(err, rep.Err())
	}
	names, _ := h.rt.SecretNames(ctx)
	if !names["tok"] || names["spare"] {
		t.Errorf("secrets in Podman: %v, want tok only", names)
	}
	again, err := h.node.Plan(ctx, h.cat, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := again.Plan.Changes(); n != 0 {
		t.Errorf("second plan has %d changes: %+v", n, again.Plan.Steps)
	}
}
