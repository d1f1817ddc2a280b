package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"

	"archy.dev/archy/plan"
)

// State is archy's persisted record in the data dir: the operator's intent
// per app and what archy knows about the containers it manages. It is
// written atomically (temp file, fsync, rename), so a crash leaves either
// the old or the new file.
type State struct {
	Version int         `json:"version"`
	Apps    plan.Intent `json:"apps"`
}

const stateVersion = 1

// StateStore reads and writes state.json under a data dir.
type StateStore struct {
	Dir string
}

func (s StateStore) path() string { return filepath.Join(s.Dir, "state.json") }

// Load returns the state, empty when none was saved yet.
func (s StateStore) Load() (State, error) {
	st := State{Version: stateVersion, Apps: plan.Intent{}}
	b, err := os.ReadFile(s.path())
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("reading state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("reading state %s: %w", s.path(), err)
	}
	if st.Apps == nil {
		st.Apps = plan.Intent{}
	}
	return st, nil
}

// Save writes the state atomically, readable by root only.
func (s StateStore) Save(st State) error {
	st.Version = stateVersion
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(s.path(), append(b, '\n'), 0o600)
}

// Update loads, changes and saves the state.
func (s StateStore) Update(change func(*State)) error {
	st, err := s.Load()
	if err != nil {
		return err
	}
	change(&st)
	return s.Save(st)
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this is a no-op
	if _, err := tmp.Write(data); err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// Lock takes the host-wide lock under the data dir, so that two archy
// processes changing the node take turns. If another holds it, waiting
// is called once (to tell the user) and Lock waits until the lock is free
// or ctx ends.
func Lock(ctx context.Context, dataDir string, waiting func()) (unlock func() error, err error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data dir: %w", err)
	}
	l := flock.New(filepath.Join(dataDir, "lock"))
	ok, err := l.TryLock()
	if err == nil && !ok {
		if waiting != nil {
			waiting()
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
