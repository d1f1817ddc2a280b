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

// TestContextHashIgnoreFile: files the context's ignore file leaves out
// of the build are left out of the hash, as podman build reads it;
// everything the build is sent, the ignore file included, is hashed.
func TestContextHashIgnoreFile(t *testing.T) {
	tests := []struct {
		name       string
		dockerfile string
		files      map[string]string // the context, beside the Dockerfile
		edit       string            // the file edited
		rebuild    bool
	}{
		{"containerignore file", "", map[string]string{".containerignore": "notes.md\n", "notes.md": "a"}, "notes.md", false},
		{"dockerignore file", "", map[string]string{".dockerignore": "notes.md\n", "notes.md": "a"}, "notes.md", false},
		{"containerignore wins over dockerignore", "", map[string]string{".containerignore": "a\n", ".dockerignore": "b\n", "b": "x"}, "b", true},
		{"directory", "", map[string]string{".containerignore": "drafts\n", "drafts/one/x": "a"}, "drafts/one/x", false},
		{"glob", "", map[string]string{".containerignore": "**/*.log\n", "www/a/run.log": "a"}, "www/a/run.log", false},
		{"exception", "", map[string]string{".containerignore": "drafts\n!drafts/keep\n", "drafts/keep": "a"}, "drafts/keep", true},
		{"comment is no pattern", "", map[string]string{".containerignore": "# notes.md\n", "notes.md": "a"}, "notes.md", true},
		{"kept file", "", map[string]string{".containerignore": "notes.md\n", "page": "a"}, "page", true},
		{"the ignore file itself", "", map[string]string{".containerignore": "*\n"}, ".containerignore", true},
		{"the Dockerfile is always sent", "", map[string]string{".containerignore": "*\n"}, "Dockerfile", true},
		{"named Dockerfile's own ignore file", "build/Containerfile", map[string]string{"build/Containerfile": "FROM scratch\n", "build/Containerfile.containerignore": "notes.md\n", "notes.md": "a"}, "notes.md", false},
		{"no ignore file", "", map[string]string{"notes.md": "a"}, "notes.md", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.TempDir()
			writeFile(t, filepath.Join(ctx, "Dockerfile"), "FROM scratch\nCOPY . /\n")
			for name, content := range tt.files {
				writeFile(t, filepath.Join(ctx, name), content)
			}
			src := &schema.Source{Type: schema.SourceBuild, ContextDir: ctx, Dockerfile: tt.dockerfile}
			before, err := ContextHash(src)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(ctx, tt.edit)
			b, _ := os.ReadFile(path)
			writeFile(t, path, string(b)+"\n# edited\n")
			after, err := ContextHash(src)
			if err != nil {
				t.Fatal(err)
			}
			if rebuild := before != after; rebuild != tt.rebuild {
				t.Errorf("editing %s: hash changed %v, want %v", tt.edit, rebuild, tt.rebuild)
			}
		})
	}
}

// TestContextHashSeesSameSizeEdit: the remembered hash is not reused when
// a file changed in place with its size unchanged.
func TestContextHashSeesSameSizeEdit(t *testing.T) {
	ctx := t.TempDir()
	writeFile(t, filepath.Join(ctx, "Dockerfile"), "FROM scratch\n")
	writeFile(t, filepath.Join(ctx, "page"), "one\n")
	src := &schema.Source{Type: schema.SourceBuild, ContextDir: ctx}
	before, err := ContextHash(src)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := ContextHash(src); again != before {
		t.Fatalf("hash of an unchanged context changed: %s, %s", before, again)
	}
	writeFile(t, filepath.Join(ctx, "page"), "two\n")
	if after, _ := ContextHash(src); after == before {
		t.Error("an edit that kept the size left the hash alone")
	}
}

// BenchmarkContextHash: hashing an unchanged context of a few MB, as the
// daemon's every full reconcile does.
func BenchmarkContextHash(b *testing.B) {
	ctx := b.TempDir()
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctx, "busybox"), make([]byte, 2<<20), 0o755); err != nil {
		b.Fatal(err)
	}
	src := &schema.Source{Type: schema.SourceBuild, ContextDir: ctx}
	for b.Loop() {
		if _, err := ContextHash(src); err != nil {
			b.Fatal(err)
		}
	}
}
