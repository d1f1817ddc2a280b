package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"archy.dev/archy/plan"
)

// good is a state file as archy writes it: lnd stopped by the operator.
const good = `{"version": 1, "apps": {"lnd": {"stopped": true}}}`

// damaged are the ways a state file is found broken: a power loss, a
// disk error, a hand edit.
var damaged = map[string]struct{ body, reason string }{
	"truncated":  {good[:25], "truncated"},
	"empty":      {"", "the file is empty"},
	"spaces":     {"\n \n", "the file is empty"},
	"garbage":    {"\x00\x00\x7fELF\x01", "invalid character"},
	"not state":  {`["version", 1]`, "no state version in it"},
	"no version": {`{"apps": {}}`, "no state version in it"},
	"bad field":  {`{"version": 1, "apps": {"lnd": {"stopped": "yes"}}}`, "cannot unmarshal string"},
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDamagedStateWithoutPrevIsRefused: no guess is acted on; the
// message says what is wrong in plain words and offers archy state reset.
func TestDamagedStateWithoutPrevIsRefused(t *testing.T) {
	for name, c := range damaged {
		t.Run(name, func(t *testing.T) {
			s := Store{Dir: t.TempDir(), Fallback: func(string) { t.Error("fell back to a state.json.prev that is not there") }}
			write(t, filepath.Join(s.Dir, FileName), c.body)
			_, err := s.Load()
			var derr *DamagedError
			if !errors.As(err, &derr) || !errors.Is(err, ErrUnusable) {
				t.Fatalf("Load = %v; want a DamagedError", err)
			}
			for _, want := range []string{"state.json is damaged", c.reason, "archy state reset", "touches no container"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q lacks %q", err, want)
				}
			}
			if err := s.Update(func(*State) {}); !errors.As(err, &derr) {
				t.Errorf("Update = %v; want the DamagedError, the file untouched", err)
			}
			if b, _ := os.ReadFile(filepath.Join(s.Dir, FileName)); string(b) != c.body {
				t.Errorf("the damaged file was changed to %q", b)
			}
		})
	}
}

// TestDamagedStateFallsBackToPrev: each save keeps the file it replaces;
// a damaged state.json is read from there, saying so, and the next save
// sets the damaged file aside for the operator.
func TestDamagedStateFallsBackToPrev(t *testing.T) {
	for name, c := range damaged {
		t.Run(name, func(t *testing.T) {
			var told []string
			s := Store{Dir: t.TempDir(), Fallback: func(msg string) { told = append(told, msg) }}
			if err := s.Update(func(st *State) { st.Apps["lnd"] = plan.AppIntent{Stopped: true} }); err != nil {
				t.Fatal(err)
			}
			if err := s.Update(func(st *State) { st.Apps["ui"] = plan.AppIntent{Held: "t"} }); err != nil {
				t.Fatal(err)
			}
			if prev, err := readFile(filepath.Join(s.Dir, PrevName)); err != nil || !prev.Apps["lnd"].Stopped || prev.Apps["ui"].Held != "" {
				t.Fatalf("state.json.prev = %+v, %v; want the version before the last save", prev, err)
			}
			write(t, filepath.Join(s.Dir, FileName), c.body)
			st, err := s.Load()
			if err != nil || !st.Apps["lnd"].Stopped {
				t.Fatalf("Load = %+v, %v; want the previous good version", st, err)
			}
			if len(told) != 1 || !strings.Contains(told[0], "is damaged") || !strings.Contains(told[0], PrevName) {
				t.Errorf("told %q; want one message naming the damage and %s", told, PrevName)
			}
			if err := s.Update(func(st *State) { st.Apps["web"] = plan.AppIntent{Stopped: true} }); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(filepath.Join(s.Dir, DamagedName)); string(b) != c.body {
				t.Errorf("%s holds %q; want the damaged file", DamagedName, b)
			}
			told = nil
			st, err = s.Load()
			if err != nil || !st.Apps["lnd"].Stopped || !st.Apps["web"].Stopped || len(told) != 0 {
				t.Errorf("after the save: %+v, %v, told %q; want a good state.json", st, err, told)
			}
		})
	}
}

// TestUnknownVersionIsRefused: a newer archy's file is not read as an
// older one, even when state.json.prev would read.
func TestUnknownVersionIsRefused(t *testing.T) {
	for _, v := range []string{"2", "0", "-1", "99"} {
		t.Run(v, func(t *testing.T) {
			s := Store{Dir: t.TempDir(), Fallback: func(string) { t.Error("fell back from a newer version") }}
			write(t, filepath.Join(s.Dir, PrevName), good)
			body := `{"version": ` + v + `, "apps": {}, "something_new": [1]}`
			write(t, filepath.Join(s.Dir, FileName), body)
			_, err := s.Load()
			var verr *VersionError
			if !errors.As(err, &verr) || !errors.Is(err, ErrUnusable) || !strings.Contains(err.Error(), "state version "+v) ||
				!strings.Contains(err.Error(), "archy state reset") {
				t.Fatalf("Load = %v; want a VersionError", err)
			}
			if err := s.Update(func(*State) {}); !errors.As(err, &verr) {
				t.Errorf("Update = %v; want it refused", err)
			}
			if b, _ := os.ReadFile(filepath.Join(s.Dir, FileName)); string(b) != body {
				t.Errorf("the file was downgraded to %q", b)
			}
		})
	}
}

// TestMissingState: no file at all is a fresh node (Missing); a deleted
// state.json with its previous version beside it falls back.
func TestMissingState(t *testing.T) {
	var told []string
	s := Store{Dir: t.TempDir(), Fallback: func(msg string) { told = append(told, msg) }}
	if st, err := s.Load(); err != nil || len(st.Apps) != 0 || !s.Missing() {
		t.Fatalf("fresh: %+v, %v, missing %t", st, err, s.Missing())
	}
	write(t, filepath.Join(s.Dir, PrevName), good)
	st, err := s.Load()
	if err != nil || !st.Apps["lnd"].Stopped || s.Missing() {
		t.Fatalf("state.json deleted: %+v, %v, missing %t; want state.json.prev", st, err, s.Missing())
	}
	if len(told) != 1 || !strings.Contains(told[0], "is missing") {
		t.Errorf("told %q", told)
	}
}

// TestSaveKeepsPrev: a save leaves state.json and the
// previous version, no temp file, both root-only.
func TestSaveKeepsPrev(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	for i := range 3 {
		if err := s.Update(func(st *State) { st.Apps["lnd"] = plan.AppIntent{Stopped: i%2 == 0} }); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(s.Dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		fi, _ := e.Info()
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", e.Name(), fi.Mode().Perm())
		}
	}
	if strings.Join(names, " ") != "state.json state.json.prev" {
		t.Errorf("data dir holds %q", names)
	}
	st, _ := s.Load()
	prev, _ := readFile(filepath.Join(s.Dir, PrevName))
	if !st.Apps["lnd"].Stopped || prev.Apps["lnd"].Stopped {
		t.Errorf("state %+v, prev %+v; want the last save and the one before", st.Apps, prev.Apps)
	}
}
