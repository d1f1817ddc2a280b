package secrets

import (
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
