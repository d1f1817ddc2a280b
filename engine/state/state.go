package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"archy.dev/archy/internal/atomicfile"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// State is archy's persisted record in the data dir: the operator's intent
// per app and what archy knows about the containers it manages. It is
// written atomically (temp file, fsync, rename), so a crash leaves either
// the old or the new file.
type State struct {
	Version int         `json:"version"`
	Apps    plan.Intent `json:"apps"`
	// Generations are the last containers archy made (or found) per app,
	// oldest first (see Generation).
	Generations map[string][]Generation `json:"generations,omitempty"`
	// InFlight are replacements under way, recorded before the old
	// container goes: what the next run puts back if archy dies meanwhile.
	InFlight map[string]InFlight `json:"in_flight,omitempty"`
	// UncleanStops are the apps whose last stop by archy had to kill them
	// after their stop timeout (by app): archy status shows it until archy
	// next stops the app cleanly, however often it was started since.
	UncleanStops map[string]UncleanStop `json:"unclean_stops,omitempty"`
}

// UncleanStop is a stop by archy that ended in SIGKILL after the timeout.
type UncleanStop struct {
	Time    time.Time       `json:"time"`
	Timeout schema.Duration `json:"timeout"`
}

// Generation is one container of an app: what it was made from (enough to
// make it again) and how it went.
type Generation struct {
	N        int       `json:"n"`
	Time     time.Time `json:"time"`
	ImageID  string    `json:"image_id"`
	Image    string    `json:"image"`     // the reference it was made from
	SpecHash string    `json:"spec_hash"` // its archy.spec-hash label
	Spec     string    `json:"spec"`      // its archy.spec label
	// Keep is archy's reference to the image, so that no prune or rebuild
	// takes the image of a generation archy may go back to.
	Keep    string `json:"keep,omitempty"`
	Outcome string `json:"outcome"` // healthy, created, found running, failed: …
}

// InFlight is a replacement under way.
type InFlight struct {
	From     int       `json:"from"`             // the generation being replaced (0: not archy's)
	OldID    string    `json:"old_id,omitempty"` // the old container
	Kept     string    `json:"kept,omitempty"`   // its name while set aside
	Target   string    `json:"target,omitempty"` // the target tried (plan.TargetKey): held if it fails
	Time     time.Time `json:"time"`
	Snapshot string    `json:"snapshot,omitempty"` // its volumes (snapshot_volumes)
	// Keep are the anonymous volumes of the container being replaced
	// (name and target). Files written before they were schema.Volume
	// spell the keys Name and Target, which still decode.
	Keep []schema.Volume `json:"keep,omitempty"`
	// Spec is the replacement's archy.spec: its volumes are the ones the
	// snapshot holds, whatever the catalogue says by the next run.
	Spec string `json:"spec,omitempty"`
}

// KeepGenerations is how many generations per app the state keeps.
const KeepGenerations = 3

// GenerationOf is the generation container c of app is: the newest one
// made from its spec and image.
func (st *State) GenerationOf(app string, c plan.Container) (Generation, bool) {
	var found Generation
	ok := false
	for _, g := range st.Generations[app] {
		if g.SpecHash == c.Labels[plan.LabelSpecHash] && g.ImageID == c.ImageID {
			found, ok = g, true
		}
	}
	return found, ok
}

// Generation returns generation n of an app.
func (st *State) Generation(app string, n int) (Generation, bool) {
	for _, g := range st.Generations[app] {
		if g.N == n {
			return g, true
		}
	}
	return Generation{}, false
}

const stateVersion = 1

// Store reads and writes state.json under a data dir.
type Store struct {
	Dir string
}

func (s Store) path() string { return filepath.Join(s.Dir, "state.json") }

// Load returns the state, empty when none was saved yet.
func (s Store) Load() (State, error) {
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
func (s Store) Save(st State) error {
	st.Version = stateVersion
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(s.path(), append(b, '\n'))
}

// fileLocks serialise the read-modify-writes of one state file within
// the process (by path): the daemon changes apps side by side. Across
// processes the host-wide lock (LockHost) does.
var fileLocks sync.Map // path -> *sync.Mutex

// Update loads, changes and saves the state, as one step for every
// caller in this process.
func (s Store) Update(change func(*State)) error {
	m, _ := fileLocks.LoadOrStore(s.path(), new(sync.Mutex))
	m.(*sync.Mutex).Lock()
	defer m.(*sync.Mutex).Unlock()
	st, err := s.Load()
	if err != nil {
		return err
	}
	change(&st)
	return s.Save(st)
}
