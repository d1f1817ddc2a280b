package enginetest

import (
	"context"
	"time"

	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
)

// subscriber is one stream Events returned. Its queue has no bound, so a
// change never waits for a reader (Podman does not wait either).
type subscriber struct {
	queue  []engine.ContainerEvent
	wake   chan struct{} // a send when the queue grows
	broken chan error    // BreakEvents' cause
}

// Events streams the changes made from now on, after those since since
// (zero: none). As Podman does, it replays from the start of since's
// second: a stream that resumes from the last event it saw sees that
// second's events again.
func (f *Fake) Events(ctx context.Context, since time.Time) (<-chan engine.ContainerEvent, <-chan error) {
	s := &subscriber{wake: make(chan struct{}, 1), broken: make(chan error, 1)}
	f.mu.Lock()
	if !since.IsZero() {
		from := time.Unix(since.Unix(), 0)
		for _, e := range f.history {
			if !e.Time.Before(from) {
				s.queue = append(s.queue, e)
			}
		}
	}
	f.subs[s] = struct{}{}
	f.mu.Unlock()
	out := make(chan engine.ContainerEvent)
	errc := make(chan error, 1)
	go func() {
		defer func() {
			f.mu.Lock()
			delete(f.subs, s)
			f.mu.Unlock()
			close(out)
		}()
		for {
			// send stays nil (a case never ready) while there is nothing to send.
			var send chan<- engine.ContainerEvent
			var next engine.ContainerEvent
			f.mu.Lock()
			if len(s.queue) > 0 {
				send, next = out, s.queue[0]
			}
			f.mu.Unlock()
			select {
			case send <- next:
				f.mu.Lock()
				s.queue = s.queue[1:]
				f.delivered++
				f.mu.Unlock()
			case <-s.wake:
			case err := <-s.broken:
				errc <- err
				return
			case <-ctx.Done():
				errc <- nil
				return
			}
		}
	}()
	return out, errc
}

// Watchers is the number of event streams open: a test waits for the
// code under test to subscribe before it makes a change to be seen.
func (f *Fake) Watchers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// Delivered counts the events the streams handed over so far, and the
// events still queued for them: a test waits for the code under test to
// have taken in every change (and, if it counts them, handled it).
func (f *Fake) Delivered() (sent, queued int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		queued += len(s.queue)
	}
	return f.delivered, queued
}

// BreakEvents ends every open event stream with err, as a Podman that
// went away would.
func (f *Fake) BreakEvents(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		select {
		case s.broken <- err:
		default:
		}
		delete(f.subs, s)
	}
}

// ReplayEvents sends the events since since (zero: all) again, each with
// its own time, to every open stream, as Podman does when it rotates its
// event log; it returns how many.
func (f *Fake) ReplayEvents(since time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, e := range f.history {
		if !e.Time.Before(since) {
			f.send(e)
			n++
		}
	}
	return n
}

// SendEvent sends e as it is to every open stream (and keeps it for a
// replay): an event Podman wrote late, out of time order, say.
func (f *Fake) SendEvent(e engine.ContainerEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.history = append(f.history, e)
	f.send(e)
}

// emit queues an event about c for every stream and keeps it for a
// replay; f.mu is held.
func (f *Fake) emit(action string, c *plan.Container) {
	e := engine.ContainerEvent{Time: time.Now(), Action: action, Container: c.Name, ID: c.ID, ExitCode: c.ExitCode}
	f.history = append(f.history, e)
	f.send(e)
}

// send queues e for every stream; f.mu is held.
func (f *Fake) send(e engine.ContainerEvent) {
	for s := range f.subs {
		s.queue = append(s.queue, e)
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}
