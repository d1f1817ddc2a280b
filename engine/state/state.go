package state

import (
	"bytes"
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
	// Images are the images archy pulled or built, by image id: archy
	// removes an image of its own once nothing uses it (images.go in
	// engine), and never one it did not make or pull.
	Images map[string]ImageRecord `json:"images,omitempty"`
}

// ImageRecord is an image archy brought onto the node.
type ImageRecord struct {
	Ref  string    `json:"ref"`  // the reference it was pulled or built as
	App  string    `json:"app"`  // the app it was for
	How  string    `json:"how"`  // "pulled" or "built"
	Time time.Time `json:"time"` // when
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

// Store reads and writes state.json under a data dir. Each write keeps
// the file it replaces, if it read well, as state.json.prev; a damaged
// state.json is read from there instead (see Load).
type Store struct {
	Dir string
	// Fallback, if set, is told each time Load reads state.json.prev
	// because state.json is damaged or missing: the CLI warns on stderr,
	// the daemon reports a failure event (each once).
	Fallback func(msg string)
	// MustExist: Load fails with a *MissingError when there is no state
	// at all, rather than return an empty one. A process that changes the
	// node sets it, having checked the state first (engine's CheckState
	// writes an empty one on a fresh node): a file deleted while it works
	// is never taken for a fresh node.
	MustExist bool
}

// The files beside state.json.
const (
	FileName    = "state.json"
	PrevName    = "state.json.prev"    // the previous good version
	DamagedName = "state.json.damaged" // a damaged file, set aside when a good one replaces it
)

// Path is state.json's path.
func (s Store) Path() string { return s.path() }

// Check reports how state.json itself reads, whatever state.json.prev
// holds: nil when well; an error satisfying errors.Is(err,
// os.ErrNotExist) when it is missing; else why it does not.
func (s Store) Check() error {
	_, err := readFile(s.path())
	return err
}

func (s Store) path() string     { return filepath.Join(s.Dir, FileName) }
func (s Store) prevPath() string { return filepath.Join(s.Dir, PrevName) }

// Load returns the state, empty when none was saved yet. A state.json
// that does not read (empty, truncated, not JSON) is read from
// state.json.prev when that reads well (Fallback is told); otherwise
// Load fails with a *DamagedError. A state of a version this archy does
// not know fails with a *VersionError, whatever state.json.prev holds:
// it is never downgraded.
func (s Store) Load() (State, error) {
	st, _, err := s.load()
	return st, err
}

// source is where load found the state.
type source int

const (
	fromNone source = iota // no file: a fresh node (or a deleted state)
	fromFile
	fromPrev
)

func (s Store) load() (State, source, error) {
	st, err := readFile(s.path())
	if err == nil {
		return st, fromFile, nil
	}
	var verr *VersionError
	if errors.As(err, &verr) {
		return st, fromFile, err
	}
	missing := errors.Is(err, os.ErrNotExist)
	var derr *DamagedError
	if !missing && !errors.As(err, &derr) {
		return st, fromFile, err // unreadable: permissions, I/O
	}
	prev, perr := readFile(s.prevPath())
	switch {
	case perr == nil:
		if s.Fallback != nil {
			what := "is missing"
			if !missing {
				what = "is damaged (" + derr.Reason() + ")"
			}
			s.Fallback(fmt.Sprintf("archy's state file %s %s; using the previous good version, %s: the last change archy recorded may be lost", s.path(), what, PrevName))
		}
		return prev, fromPrev, nil
	case missing && s.MustExist:
		return emptyState(), fromNone, &MissingError{Path: s.path()}
	case missing:
		return emptyState(), fromNone, nil
	}
	return emptyState(), fromFile, err
}

func emptyState() State { return State{Version: stateVersion, Apps: plan.Intent{}} }

// readFile reads and checks one state file.
func readFile(path string) (State, error) {
	st := emptyState()
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return st, err
		}
		return st, fmt.Errorf("reading state: %w", err)
	}
	var probe struct {
		Version *int `json:"version"`
	}
	switch {
	case len(bytes.TrimSpace(b)) == 0:
		return st, &DamagedError{Path: path, Err: errors.New("the file is empty")}
	case json.Unmarshal(b, &probe) != nil || probe.Version == nil:
		// Not a JSON object with a version: decode again for the
		// decoder's own words (where it stopped).
		var v any
		err := json.Unmarshal(b, &v)
		if err == nil {
			err = errors.New("no state version in it")
		}
		return st, &DamagedError{Path: path, Err: err}
	case *probe.Version != stateVersion:
		return st, &VersionError{Path: path, Version: *probe.Version}
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return emptyState(), &DamagedError{Path: path, Err: err}
	}
	if st.Apps == nil {
		st.Apps = plan.Intent{}
	}
	return st, nil
}

// Missing reports whether there is no state at all (neither state.json
// nor state.json.prev): a fresh node, or one whose state was deleted.
func (s Store) Missing() bool {
	for _, p := range []string{s.path(), s.prevPath()} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			return false
		}
	}
	return true
}

// Save writes the state atomically and durably, readable by root only.
// The file it replaces becomes state.json.prev if it reads well; a
// damaged one is set aside as state.json.damaged for the operator.
func (s Store) Save(st State) error {
	_, err := readFile(s.path())
	return s.save(st, err)
}

// save is Save, told how the current file read (nil: well).
func (s Store) save(st State, current error) error {
	st.Version = stateVersion
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", s.Dir, err)
	}
	switch {
	case current == nil: // keep it as the previous good version
		if err := os.Remove(s.prevPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("replacing %s: %w", s.prevPath(), err)
		}
		if err := os.Link(s.path(), s.prevPath()); err != nil {
			// A file system without hard links: a copy, written as
			// safely as the state itself.
			b, rerr := os.ReadFile(s.path())
			if rerr != nil || atomicfile.Write(s.prevPath(), b) != nil {
				return fmt.Errorf("keeping %s: %w", s.prevPath(), err)
			}
		}
	case !errors.Is(current, os.ErrNotExist):
		if err := os.Rename(s.path(), filepath.Join(s.Dir, DamagedName)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("setting aside %s: %w", s.path(), err)
		}
	}
	// atomicfile syncs the directory too: the link above with it.
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
	st, from, err := s.load()
	if err != nil {
		return err
	}
	change(&st)
	var current error // how state.json read
	switch from {
	case fromNone:
		current = os.ErrNotExist
	case fromPrev: // damaged or missing
		_, current = readFile(s.path())
	}
	return s.save(st, current)
}
