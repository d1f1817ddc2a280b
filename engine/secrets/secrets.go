package secrets

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"archy.dev/archy/internal/atomicfile"
	"archy.dev/archy/schema"
)

// ReadFile reads a root-only KEY=VALUE file (blank lines and #
// comments allowed). A file others can read is refused: it holds the
// node's passwords.
func ReadFile(path string) (map[string][]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("secrets file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("secrets file %s is not a regular file", path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secrets file %s is readable by others (mode %o); chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secrets file: %w", err)
	}
	out := map[string][]byte{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			// Never echo the line: it may hold a value.
			return nil, fmt.Errorf("%s:%d: want NAME=VALUE", path, n)
		}
		k, v = strings.TrimSpace(strings.TrimPrefix(k, "\ufeff")), unquote(strings.TrimSpace(v))
		if v == "" {
			return nil, fmt.Errorf("%s:%d: %s has an empty value (Podman cannot store an empty secret)", path, n, k)
		}
		out[k] = []byte(v)
	}
	return out, sc.Err()
}

// unquote strips one pair of matching quotes, as .env files allow.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

// Store makes the secrets apps need available as Podman secrets and
// hashes their values per app, so that a changed value recreates its
// consumers. Values never leave this type except into Podman.
type Store struct {
	values map[string][]byte // from the secrets file
	key    []byte            // HMAC key, kept in the data dir

	mu  sync.Mutex
	ids map[string]string // the Podman secrets' ids, as last observed
}

// ObserveIDs records the ids of the Podman secrets (Runtime.SecretIDs):
// Hash mixes in the id of a secret that only Podman has, so that one
// replaced (by archy secrets rotate, or by hand) changes its consumers'
// hash although its value cannot be read back.
func (s *Store) ObserveIDs(ids map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = ids
}

// New loads the HMAC key from dataDir (creating it) and the values from
// file ("" for none).
func New(dataDir, file string) (*Store, error) {
	s := &Store{values: map[string][]byte{}}
	if file != "" {
		v, err := ReadFile(file)
		if err != nil {
			return nil, err
		}
		s.values = v
	}
	keyFile := filepath.Join(dataDir, "secrets.key")
	key, err := os.ReadFile(keyFile)
	if errors.Is(err, os.ErrNotExist) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := atomicfile.Write(keyFile, key); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("reading %s: %w", keyFile, err)
	}
	s.key = key
	return s, nil
}

// Available decides whether a secret can be given to a container: it is
// already a Podman secret (podman: the names Podman has) or the secrets
// file sets it. This is the one place that decides; secrets archy can
// generate join here as a third source.
func (s *Store) Available(name string, podman map[string]bool) bool {
	_, inFile := s.values[name]
	return inFile || podman[name]
}

// Blocked says why app cannot be brought up: the secrets it needs that
// are nowhere to be had ("" when all are available). It names secrets,
// never values.
func (s *Store) Blocked(app *schema.App, podman map[string]bool) string {
	var missing []string
	for _, sec := range app.AllSecrets() {
		if !s.Available(sec.Name, podman) && !slices.Contains(missing, sec.Name) {
			missing = append(missing, sec.Name)
		}
	}
	switch len(missing) {
	case 0:
		return ""
	case 1:
		return "secret " + missing[0] + " is missing: not in Podman and not in the secrets file"
	}
	return "secrets " + strings.Join(missing, ", ") + " are missing: not in Podman and not in the secrets file"
}

// Setter is what Sync needs of the container runtime (engine.Runtime
// has it).
type Setter interface {
	// SetSecret creates or replaces a Podman secret.
	SetSecret(ctx context.Context, name string, value []byte) error
}

// Sync writes the file's values that apps use into Podman secrets.
func (s *Store) Sync(ctx context.Context, rt Setter, apps []*schema.App) error {
	done := map[string]bool{}
	for _, app := range apps {
		for _, sec := range app.AllSecrets() {
			v, ok := s.values[sec.Name]
			if !ok || done[sec.Name] {
				continue
			}
			if err := rt.SetSecret(ctx, sec.Name, v); err != nil {
				return fmt.Errorf("storing secret %q for %s: %w", sec.Name, app.ID, err)
			}
			done[sec.Name] = true
		}
	}
	return nil
}

// Hash is a keyed hash of an app's secret values ("" without secrets).
// Secrets that only exist in Podman count by name and Podman id (see
// ObserveIDs): their values cannot be read back.
func (s *Store) Hash(app *schema.App) string {
	if len(app.Secrets) == 0 {
		return ""
	}
	names := make([]string, 0, len(app.Secrets))
	for _, sec := range app.Secrets {
		names = append(names, sec.Name)
	}
	sort.Strings(names)
	s.mu.Lock()
	defer s.mu.Unlock()
	mac := hmac.New(sha256.New, s.key)
	for _, n := range names {
		fmt.Fprintf(mac, "%s\x00", n)
		if v, ok := s.values[n]; ok {
			mac.Write(v)
		} else {
			fmt.Fprintf(mac, "\x00podman %s", s.ids[n])
		}
		mac.Write([]byte{0})
	}
	return hex.EncodeToString(mac.Sum(nil)[:16])
}
