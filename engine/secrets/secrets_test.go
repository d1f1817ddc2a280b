package secrets

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"archy.dev/archy/schema"
)

func TestReadFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		want    map[string]string
		wantErr string // a part of the error; "" for none
	}{
		{name: "pairs, comments and quotes", mode: 0o600,
			content: "# node\n\nRPC_PASS = \"s3cret\"\nTOKEN='t'\n\ufeffRAW=a=b\n",
			want:    map[string]string{"RPC_PASS": "s3cret", "TOKEN": "t", "RAW": "a=b"}},
		// systemd's LoadCredential= (packaging/archy.service) gives the
		// service a read-only copy, 0400.
		{name: "a systemd credential", mode: 0o400, content: "A=b\n", want: map[string]string{"A": "b"}},
		{name: "readable by others", mode: 0o644, content: "A=b\n", wantErr: "readable by others"},
		{name: "no =", mode: 0o600, content: "hunter2\n", wantErr: ":1: want NAME=VALUE"},
		{name: "empty value", mode: 0o600, content: "A=\"\"\n", wantErr: ":1: A has an empty value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "secrets.env")
			if err := os.WriteFile(path, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			got, err := ReadFile(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadFile = %v, want an error with %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("the error shows the line's value: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			str := map[string]string{}
			for k, v := range got {
				str[k] = string(v)
			}
			if diff := cmp.Diff(tt.want, str); diff != "" {
				t.Errorf("ReadFile (-want +got):\n%s", diff)
			}
		})
	}
}

// A changed value changes the app's hash; the key in the data dir keeps
// it stable across runs.
func TestHashFollowsValues(t *testing.T) {
	dataDir, file := t.TempDir(), filepath.Join(t.TempDir(), "secrets.env")
	write := func(content string) *Store {
		t.Helper()
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := New(dataDir, file)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	app := &schema.App{ID: "lnd"}
	app.Secrets = []schema.Secret{{Name: "PASS"}} // not in the literal: it may be a promoted field
	first, again, changed := write("PASS=a\n").Hash(app), write("PASS=a\n").Hash(app), write("PASS=b\n").Hash(app)
	if first == "" || first != again || first == changed {
		t.Errorf("hashes %q, %q (same value), %q (changed value)", first, again, changed)
	}
	if h := write("PASS=a\n").Hash(&schema.App{ID: "ui"}); h != "" {
		t.Errorf("hash without secrets = %q, want none", h)
	}
}

// A secret only Podman has counts by its id: replaced (rotated, or by
// hand), it changes its consumers' hash; a secrets-file value counts by
// value, whatever its Podman id.
func TestHashSeesAReplacedPodmanSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secrets.env")
	if err := os.WriteFile(file, []byte("from-file=v\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(dir, file)
	if err != nil {
		t.Fatal(err)
	}
	podmanOnly := &schema.App{ID: "a", ContainerConfig: schema.ContainerConfig{Secrets: []schema.Secret{{Name: "gen"}}}}
	fromFile := &schema.App{ID: "b", ContainerConfig: schema.ContainerConfig{Secrets: []schema.Secret{{Name: "from-file"}}}}
	s.ObserveIDs(map[string]string{"gen": "id1", "from-file": "f1"})
	a1, b1 := s.Hash(podmanOnly), s.Hash(fromFile)
	s.ObserveIDs(map[string]string{"gen": "id1", "from-file": "f1"})
	if s.Hash(podmanOnly) != a1 {
		t.Error("same id, another hash")
	}
	s.ObserveIDs(map[string]string{"gen": "id2", "from-file": "f2"})
	if s.Hash(podmanOnly) == a1 {
		t.Error("a replaced Podman secret left its consumer's hash alone")
	}
	if s.Hash(fromFile) != b1 {
		t.Error("a secrets-file value's hash followed its Podman id")
	}
	g := &schema.SecretGen{Name: "from-file", Type: schema.GenRandom, Length: 16, Alphabet: schema.AlphabetHex}
	if err := s.Rotate(context.Background(), nil, g); err == nil || !strings.Contains(err.Error(), "secrets file") {
		t.Errorf("rotating a name the secrets file sets: %v", err)
	}
}
