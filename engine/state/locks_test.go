package state

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/gofrs/flock"
)

func TestLockWaitsAndCanBeInterrupted(t *testing.T) {
	dir := t.TempDir()
	holder := flock.New(filepath.Join(dir, "lock"))
	if ok, err := holder.TryLock(); !ok || err != nil {
		t.Fatal(ok, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	told := false
	_, err := LockHost(ctx, dir, func() { told = true })
	if err == nil || !told {
		t.Fatalf("LockHost = %v (told %t); want it to say it waits, then give up with the context", err, told)
	}
	holder.Unlock()
	unlock, err := LockHost(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
}

func TestLockMakesProcessesTakeTurns(t *testing.T) {
	dir := t.TempDir()
	unlock, err := LockHost(context.Background(), dir, nil)
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

func TestAppLocks(t *testing.T) {
	var l AppLocks
	ctx := context.Background()
	unlockA, err := l.Lock(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	// Another app's lock is free; the same app's waits.
	unlockB, err := l.Lock(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	unlockB()
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := l.Lock(short, "a"); err == nil {
		t.Fatal("a's lock taken twice")
	}
	got := make(chan struct{})
	go func() {
		unlock, err := l.Lock(ctx, "a")
		if err == nil {
			unlock()
		}
		close(got)
	}()
	unlockA()
	<-got
}
