package state

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"archy.dev/archy/plan"
	"github.com/google/go-cmp/cmp"
)

func TestStateRoundTripIsAtomicAndPrivate(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "data")}
	st, err := s.Load()
	if err != nil || len(st.Apps) != 0 {
		t.Fatalf("Load of nothing = %+v, %v; want empty state", st, err)
	}
	if err := s.Update(func(st *State) { st.Apps["lnd"] = plan.AppIntent{Stopped: true} }); err != nil {
		t.Fatal(err)
	}
	st, err = s.Load()
	if err != nil || !st.Apps["lnd"].Stopped {
		t.Fatalf("after Update: %+v, %v", st, err)
	}
	fi, err := os.Stat(filepath.Join(s.Dir, "state.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state.json mode = %v, %v; want 0600", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(s.Dir)
	if len(entries) != 1 {
		t.Errorf("data dir holds %d entries, want only state.json (no temp files left)", len(entries))
	}
}

// The daemon changes the state of different apps side by side: no change
// may be lost.
func TestStateUpdatesDoNotLoseEachOther(t *testing.T) {
	store := Store{Dir: t.TempDir()}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := store.Update(func(st *State) { st.Apps[fmt.Sprint("app", i)] = plan.AppIntent{Stopped: true} }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	st, err := store.Load()
	if err != nil || len(st.Apps) != 20 {
		t.Fatalf("%d of 20 changes kept (%v)", len(st.Apps), err)
	}
}

// testdata/state.json was written by archy, every field set: the file must
// read and write back byte for byte, or an upgraded archy would misread a
// node's record. (Its keep volumes have schema.Volume's keys; keep_test.go
// checks that the older keys still load.)
func TestStateFileFormatIsKept(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := Store{Dir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(s.Dir, "state.json"), want, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(s.Dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("state.json changed on a load and save (-before +after):\n%s", diff)
	}
}
