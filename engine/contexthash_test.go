package engine

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"archy.dev/archy/internal/buildctx"
	"archy.dev/archy/schema"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestContextHashDockerfileOutside: a Dockerfile the build would read from
// outside the context is refused, not hashed without its content.
func TestContextHashDockerfileOutside(t *testing.T) {
	root := t.TempDir()
	ctx := filepath.Join(root, "ctx")
	writeFile(t, filepath.Join(ctx, "index.html"), "<title>ui</title>\n")
	writeFile(t, filepath.Join(root, "Dockerfile.shared"), "FROM scratch\n")
	if err := os.Symlink("../Dockerfile.shared", filepath.Join(ctx, "Dockerfile")); err != nil {
		t.Fatal(err)
	}
	for _, df := range []string{"/etc/shadow", filepath.Join(root, "Dockerfile.shared"), "../Dockerfile.shared", "Dockerfile"} {
		_, err := ContextHash(&schema.Source{Type: schema.SourceBuild, ContextDir: ctx, Dockerfile: df})
		if err == nil {
			t.Errorf("dockerfile %s: hashed", df)
			continue
		}
		var e *buildctx.Error
		if !errors.As(err, &e) {
			t.Errorf("dockerfile %s: error %v is not a buildctx.Error", df, err)
		}
	}
}

// TestContextHashLinkedContext: a context reached through a symlink is
// hashed through the link, as the build reads it: the same hash as the
// directory itself, and a change inside it changes the hash.
func TestContextHashLinkedContext(t *testing.T) {
	root := t.TempDir()
	real := filepath.Join(root, "real")
	writeFile(t, filepath.Join(real, "Dockerfile"), "FROM scratch\nCOPY page /page\n")
	writeFile(t, filepath.Join(real, "page"), "one\n")
	link := filepath.Join(root, "link")
	if err := os.Symlink("real", link); err != nil {
		t.Fatal(err)
	}
	hash := func(dir string) string {
		t.Helper()
		h, err := ContextHash(&schema.Source{Type: schema.SourceBuild, ContextDir: dir, Dockerfile: "Dockerfile"})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	before := hash(link)
	if direct := hash(real); before != direct {
		t.Errorf("hash through the link %s, of the directory %s", before, direct)
	}
	writeFile(t, filepath.Join(real, "page"), "two\n")
	if after := hash(link); after == before {
		t.Error("a change inside a linked context left its hash alone")
	}
}
