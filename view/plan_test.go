package view

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"

	"archy.dev/archy/plan"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./view -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

var samplePlan = plan.Plan{Fingerprint: "f00", Steps: []plan.Step{
	{App: "bitcoin-core", Container: "bitcoin-core", Level: 1, Actions: []plan.Action{}, Reasons: []string{}},
	{App: "explorer", Container: "explorer", Level: 1, Actions: []plan.Action{}, Reasons: []string{},
		Blocked: "image 127.0.0.1:5000/explorer:1 is missing and pull_policy is never"},
	{App: "lnd", Container: "lnd", Level: 2, Actions: []plan.Action{plan.Start}, Reasons: []string{"exited (137)"}},
	{App: "bitcoin-ui", Container: "archy-bitcoin-ui", Level: 2, Actions: []plan.Action{plan.Build, plan.Recreate, plan.Start},
		Reasons: []string{"build context changed", "image is rebuilt"}},
	{App: "filebrowser", Container: "filebrowser", Level: 2, Actions: []plan.Action{plan.Adopt},
		Reasons: []string{"container filebrowser exists but was not created by archy"},
		Notes:   []string{"runs docker.io/filebrowser/filebrowser:v2.31, not docker.io/filebrowser/filebrowser:v2.32.0: archy upgrade filebrowser recreates it"}},
	{App: "old", Container: "old", Level: 0, Actions: []plan.Action{}, Reasons: []string{"app old is no longer declared"},
		Notes: []string{"archy apply --prune removes it"}},
}}

func TestPlanHuman(t *testing.T) {
	var b bytes.Buffer
	if err := Plan(&b, samplePlan, Style{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.txt", b.Bytes())
}

func TestPlanHumanColour(t *testing.T) {
	var b bytes.Buffer
	if err := Plan(&b, samplePlan, Style{Color: true}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b.Bytes(), []byte("\033[33m~\033[0m bitcoin-ui")) {
		t.Errorf("no colour on a terminal:\n%q", b.String())
	}
	// Without the colour codes, the text is the same as without colour.
	var plain bytes.Buffer
	Plan(&plain, samplePlan, Style{})
	stripped := regexp.MustCompile("\033\\[[0-9;]*m").ReplaceAll(b.Bytes(), nil)
	if diff := cmp.Diff(plain.String(), string(stripped)); diff != "" {
		t.Errorf("colour changes the layout (-plain +coloured):\n%s", diff)
	}
}

func TestPlanNoChanges(t *testing.T) {
	var b bytes.Buffer
	p := plan.Plan{Steps: samplePlan.Steps[:1]}
	if err := Plan(&b, p, Style{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan-no-changes.txt", b.Bytes())
}

func TestPlanJSON(t *testing.T) {
	var b bytes.Buffer
	if err := PlanJSON(&b, samplePlan); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.json", b.Bytes())
}
