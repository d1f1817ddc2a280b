package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/term"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine"
	"archy.dev/archy/engine/api"
	"archy.dev/archy/engine/podman"
	"archy.dev/archy/engine/secrets"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/view"
)

// session is what a command that touches Podman needs: the host-wide lock,
// the connection and the node.
type session struct {
	cat    *catalog.Catalog
	rt     engine.Runtime
	node   *engine.Node
	unlock func() error
}

// open loads the apps, takes the lock (for commands that change the
// node) and connects to Podman, in that order: bad apps are reported
// before anything else happens.
func (g *Globals) open(ctx context.Context, lock bool) (*session, error) {
	return g.openWith(ctx, lock, view.NewProgress(g.stdout))
}

// openWith is open, reporting the recovery of an interrupted upgrade to
// progress (apply --json: as JSON lines).
func (g *Globals) openWith(ctx context.Context, lock bool, progress engine.Progress) (*session, error) {
	return g.openChecked(ctx, lock, true, progress)
}

// openChecked is openWith; check: refuse a state archy must not act on
// (engine.Node.CheckState), before anything else reads it.
func (g *Globals) openChecked(ctx context.Context, lock, check bool, progress engine.Progress) (*session, error) {
	cat, err := g.loadCatalog()
	if err != nil {
		return nil, err
	}
	s := &session{cat: cat}
	warn := g.warnOnce()
	if check {
		// A state archy will not act on is reported before Podman is
		// reached, as bad apps are; a deleted one needs the containers.
		if _, err := (state.Store{Dir: g.DataDir, Fallback: warn}).Load(); errors.Is(err, state.ErrUnusable) {
			return nil, err
		}
	}
	if lock {
		s.unlock, err = state.LockHost(ctx, g.DataDir, func() {
			fmt.Fprintf(g.stderr, "archy: waiting for another archy (the lock in %s)…\n", g.DataDir)
		})
		if err != nil {
			return nil, err
		}
	}
	rt, err := podman.New(ctx, g.PodmanURL)
	if err != nil {
		s.close()
		return nil, err
	}
	sec, err := secrets.New(g.DataDir, g.SecretsFile)
	if err != nil {
		s.close()
		return nil, err
	}
	s.rt = rt
	s.node = &engine.Node{Runtime: rt, State: state.Store{Dir: g.DataDir, Fallback: warn, MustExist: lock && check}, Secrets: sec}
	if check {
		if err := s.node.CheckState(ctx, lock); err != nil {
			s.close()
			return nil, err
		}
	}
	if lock && check {
		// An upgrade a killed archy left half done comes before anything
		// that changes the node.
		if err := s.node.Recover(ctx, cat, s.node.Applier(progress)); err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

// warnOnce returns a function that prints each warning once on stderr.
func (g *Globals) warnOnce() func(string) {
	var mu sync.Mutex
	told := map[string]bool{}
	return func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		if !told[msg] {
			told[msg] = true
			fmt.Fprintf(g.stderr, "archy: warning: %s\n", msg)
		}
	}
}

// read runs f with a session opened without the lock: for commands that
// change nothing.
func (g *Globals) read(f func(ctx context.Context, s *session) error) error {
	ctx, stop := signalContext()
	defer stop()
	s, err := g.open(ctx, false)
	if err == nil {
		defer s.close()
		err = f(ctx, s)
	}
	return err
}

// close releases the host-wide lock, if held; it may be called again.
func (s *session) close() {
	if s.unlock != nil {
		s.unlock()
		s.unlock = nil
	}
}

// style colours output only on a terminal, and never with NO_COLOR.
func (g *Globals) style() view.Style {
	f, ok := g.stdout.(*os.File)
	_, noColor := os.LookupEnv("NO_COLOR")
	return view.Style{Color: ok && !noColor && term.IsTerminal(int(f.Fd()))}
}

// daemon returns a client of the running daemon, or nil when none answers
// on the socket (the verbs then act directly under the host-wide lock).
func (g *Globals) daemon(ctx context.Context) (*api.Client, error) {
	c, err := api.Dial(ctx, g.Socket)
	if errors.Is(err, api.ErrNoDaemon) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("archy daemon at %s: %w", g.Socket, err)
	}
	return c, nil
}

// viaDaemon performs an action through the daemon when one runs; done
// reports whether it did.
func (g *Globals) viaDaemon(app string, action engine.Action, purge bool) (done bool, err error) {
	ctx, stop := signalContext()
	defer stop()
	c, err := g.daemon(ctx)
	if c == nil || err != nil {
		return false, err
	}
	defer c.Close()
	if err := c.Act(ctx, app, action, purge); err != nil {
		return true, err
	}
	view.VerbDoneBy(g.stdout, app, action, g.Socket)
	return true, nil
}
