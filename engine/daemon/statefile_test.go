package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"archy.dev/archy/engine"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/plan"
)

// A damaged state file with no previous good version stops the daemon's
// work, heals included, reported once (an event and the status) rather
// than an error per reconcile; a good file again resumes it.
func TestDamagedStateStopsWorkReportedOnce(t *testing.T) {
	n := start(t, "core", "ui")
	dir := n.d.cfg.DataDir
	os.Remove(filepath.Join(dir, state.PrevName))
	good, err := os.ReadFile(filepath.Join(dir, state.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, state.FileName), good[:len(good)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	n.rt.Crash(n.container("ui"), 1)
	n.waitFor("", engine.EventFailure, "state.json is damaged (it ends too soon: truncated)")
	for range 2 {
		if err := n.d.Reconcile(context.Background()); !errors.Is(err, engine.ErrDegraded) || !errors.Is(err, state.ErrUnusable) {
			t.Fatalf("Reconcile = %v; want it refused as degraded", err)
		}
	}
	if s := n.state("ui"); s == plan.StateRunning {
		t.Errorf("ui was started again on a damaged state")
	}
	ns, err := n.d.Status(context.Background())
	if err != nil || !strings.Contains(ns.StateError, "archy state reset") || len(ns.Apps) != 2 {
		t.Fatalf("Status = %+v, %v; want the apps and the state error", ns, err)
	}
	if _, err := n.d.Plan(context.Background()); !errors.Is(err, engine.ErrDegraded) {
		t.Errorf("Plan = %v; want degraded (503)", err)
	}
	reported := 0
	for _, e := range n.seen {
		if e.Type == engine.EventFailure && strings.Contains(e.Message, "is damaged") {
			reported++
		}
	}
	if reported != 1 {
		t.Errorf("the damage was reported %d times; want once", reported)
	}
	if err := os.WriteFile(filepath.Join(dir, state.FileName), good, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := n.d.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	n.waitFor("", engine.EventStep, "state file usable again")
	if s := n.state("ui"); s != plan.StateRunning {
		t.Errorf("ui is %s once the state is good again", s)
	}
	if ns, _ := n.d.Status(context.Background()); ns.StateError != "" {
		t.Errorf("StateError %q stays", ns.StateError)
	}
}

// A damaged state file with a previous good version: the daemon reads
// that one, says so once, writes it back, and goes on healing.
func TestDamagedStateFallsBackToPrev(t *testing.T) {
	n := start(t, "core", "ui")
	dir := n.d.cfg.DataDir
	if _, err := os.Stat(filepath.Join(dir, state.PrevName)); err != nil {
		t.Fatalf("no state.json.prev after the first reconcile: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, state.FileName), []byte("garbage\x00"), 0o600); err != nil {
		t.Fatal(err)
	}
	n.crash("ui", 1, "")
	if !n.saw("", engine.EventFailure, "is damaged (invalid character 'g' looking for beginning of value); using the previous good version") {
		n.waitFor("", engine.EventFailure, "using the previous good version")
	}
	if err := (state.Store{Dir: dir}).Check(); err != nil {
		t.Errorf("state.json not written back: %v", err)
	}
}

// A deleted state file while archy's containers run: nothing is touched
// (an app the operator stopped stays stopped) until the operator decides.
func TestDeletedStateIsNoticed(t *testing.T) {
	n := start(t, "core", "ui")
	if err := n.d.Act(context.Background(), "ui", engine.ActStop, false); err != nil {
		t.Fatal(err)
	}
	dir := n.d.cfg.DataDir
	// Under the host-wide lock, as another archy would: not in the middle
	// of a write of the daemon's (after the stop, the death it caused).
	unlock, err := state.LockHost(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{state.FileName, state.PrevName} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	unlock()
	err = n.d.Reconcile(context.Background())
	var merr *state.MissingError
	if !errors.As(err, &merr) || strings.Join(merr.Apps, " ") != "core ui" {
		t.Fatalf("Reconcile = %v; want the missing state noticed", err)
	}
	if s := n.state("ui"); s == plan.StateRunning {
		t.Errorf("the stopped ui was started again")
	}
	n.waitFor("", engine.EventFailure, "state.json is missing, but containers archy made are here (core, ui)")
}
