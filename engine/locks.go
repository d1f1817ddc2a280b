package engine

import (
	"context"
	"sync"
)

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
