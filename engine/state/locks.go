package state

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gofrs/flock"
)

// LockHost takes the host-wide lock under the data dir, so that two archy
// processes changing the node take turns. If another holds it, waiting
// is called once (to tell the user) and LockHost waits until the lock is
// free or ctx ends.
func LockHost(ctx context.Context, dataDir string, waiting func()) (unlock func() error, err error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data dir: %w", err)
	}
	l := flock.New(filepath.Join(dataDir, "lock"))
	ok, err := l.TryLock()
	if err == nil && !ok {
		if waiting != nil {
			waiting()
		}
		// Say so, for a daemon whose overlapping work could otherwise keep
		// the lock for ever (HostWaiter): it lets this process have its turn.
		marker := filepath.Join(dataDir, waiterFile)
		if werr := os.WriteFile(marker, []byte(strconv.Itoa(os.Getpid())), 0o600); werr == nil {
			defer os.Remove(marker)
		}
		ok, err = l.TryLockContext(ctx, 100*time.Millisecond)
	}
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", dataDir, err)
	}
	if !ok {
		return nil, fmt.Errorf("locking %s: %w", dataDir, ctx.Err())
	}
	return l.Unlock, nil
}

// waiterFile, in the data dir, names the process waiting for the
// host-wide lock.
const waiterFile = "lock.waiting"

// HostWaiter tells whether another process waits for the host-wide lock
// (a live one: a file left by a process that died is not a waiter).
func HostWaiter(dataDir string) bool {
	b, err := os.ReadFile(filepath.Join(dataDir, waiterFile))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return false
	}
	return syscall.Kill(pid, 0) == nil
}

// AppLocks holds one lock per app, so that work on one app (a heal, an
// operator's stop, a step of a reconcile) never overlaps other work on
// the same app, while different apps proceed side by side: a long build
// of one app does not delay the restart of another.
type AppLocks struct {
	mu    sync.Mutex
	locks map[string]chan struct{}
}

// Lock takes app's lock, waiting until it is free or ctx ends.
func (l *AppLocks) Lock(ctx context.Context, app string) (unlock func(), err error) {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[string]chan struct{}{}
	}
	c, ok := l.locks[app]
	if !ok {
		c = make(chan struct{}, 1)
		l.locks[app] = c
	}
	l.mu.Unlock()
	select {
	case c <- struct{}{}:
		return func() { <-c }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
