package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"archy.dev/archy/plan"
)

func TestStateRoundTripIsAtomicAndPrivate(t *testing.T) {
	s := StateStore{Dir: filepath.Join(t.TempDir(), "data")}
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

func TestLockWaitsAndCanBeInterrupted(t *testing.T) {
	dir := t.TempDir()
	holder := flock.New(filepath.Join(dir, "lock"))
	if ok, err := holder.TryLock(); !ok || err != nil {
		t.Fatal(ok, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	told := false
	_, err := Lock(ctx, dir, func() { told = true })
	if err == nil || !told {
		t.Fatalf("Lock = %v (told %t); want it to say it waits, then give up with the context", err, told)
	}
	holder.Unlock()
	unlock, err := Lock(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
}

func TestLockMakesProcessesTakeTurns(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Lock(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A second open of the lock file, as another archy process would do.
	other := flock.New(filepath.Join(dir, "lock"))
	if ok, err := other.TryLock(); err != nil || ok {
		t.Fatalf("second lock taken while the first is held (ok=%t, err=%v)", ok, err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if ok, err := other.TryLock(); err != nil || !ok {
		t.Fatalf("lock not free after unlock (ok=%t, err=%v)", ok, err)
	}
	other.Unlock()
}

// The daemon changes the state of different apps side by side: no change
// may be lost.
func TestStateUpdatesDoNotLoseEachOther(t *testing.T) {
	store := StateStore{Dir: t.TempDir()}
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
