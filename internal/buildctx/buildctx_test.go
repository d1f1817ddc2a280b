package buildctx

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// tempDir is a test's temporary directory by its real path, as Context
// returns a context.
func tempDir(t *testing.T) string {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestDockerfile(t *testing.T) {
	root := tempDir(t)
	ctx := filepath.Join(root, "ctx")
	write(t, filepath.Join(ctx, "Dockerfile"), "FROM scratch\n")
	write(t, filepath.Join(ctx, "sub", "Containerfile"), "FROM scratch\n")
	write(t, filepath.Join(root, "Dockerfile.shared"), "FROM scratch\n")
	symlink(t, "sub/Containerfile", filepath.Join(ctx, "inside"))
	symlink(t, "../Dockerfile.shared", filepath.Join(ctx, "outside"))
	symlink(t, root, filepath.Join(ctx, "up"))
	symlink(t, "/etc", filepath.Join(ctx, "etc"))
	if err := os.Mkdir(filepath.Join(ctx, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		dockerfile string
		want       string // path below ctx, when it resolves
		err        error
	}{
		{"", "Dockerfile", nil},
		{"Dockerfile", "Dockerfile", nil},
		{"sub/Containerfile", "sub/Containerfile", nil},
		{"./sub/../Dockerfile", "Dockerfile", nil},
		{"inside", "sub/Containerfile", nil}, // a link inside: the file it names
		{"/etc/shadow", "", ErrAbsolute},
		{filepath.Join(ctx, "Dockerfile"), "", ErrAbsolute}, // absolute even when inside
		{"../Dockerfile.shared", "", ErrEscapes},
		{"sub/../../Dockerfile.shared", "", ErrEscapes},
		{"outside", "", ErrSymlinkOut},
		{"up/Dockerfile.shared", "", ErrSymlinkOut}, // a linked directory on the way
		{"etc/hostname", "", ErrSymlinkOut},
		{"missing", "", ErrNotFound},
		{"dir", "", ErrNotRegular},
		{".", "", ErrNotRegular},
	}
	for _, tt := range tests {
		got, err := Dockerfile(ctx, tt.dockerfile)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("Dockerfile(%q) = %q, %v; want %v", tt.dockerfile, got, err, tt.err)
			}
			var e *Error
			if !errors.As(err, &e) || e.Dockerfile == "" {
				t.Errorf("Dockerfile(%q): error %v does not name the file", tt.dockerfile, err)
			}
			continue
		}
		if want := filepath.Join(ctx, tt.want); err != nil || got != want {
			t.Errorf("Dockerfile(%q) = %q, %v; want %q", tt.dockerfile, got, err, want)
		}
	}
}

func TestDockerfileErrorText(t *testing.T) {
	_, err := Dockerfile(t.TempDir(), "/etc/shadow")
	if want := "dockerfile /etc/shadow is an absolute path; it must be relative to the build context"; err == nil || err.Error() != want {
		t.Errorf("error = %v; want %q", err, want)
	}
}

func TestResolveLinkedContext(t *testing.T) {
	root := tempDir(t)
	real := filepath.Join(root, "real")
	write(t, filepath.Join(real, "Dockerfile"), "FROM scratch\n")
	symlink(t, "real", filepath.Join(root, "link"))

	ctx, df, err := Resolve(filepath.Join(root, "link"), "Dockerfile")
	if err != nil || ctx != real || df != filepath.Join(real, "Dockerfile") {
		t.Errorf("Resolve = %q, %q, %v; want %q, %q", ctx, df, err, real, filepath.Join(real, "Dockerfile"))
	}
	if _, _, err := Resolve(filepath.Join(root, "missing"), ""); err == nil {
		t.Error("Resolve of a missing context succeeded")
	}
	if _, _, err := Resolve(filepath.Join(real, "Dockerfile"), ""); err == nil {
		t.Error("Resolve of a file as context succeeded")
	}
}

// TestResolveRelativeContext: a context given relative to the working
// directory resolves to an absolute path, which Podman's ignore-file
// reader needs (it refuses a root with .. in it).
func TestResolveRelativeContext(t *testing.T) {
	root := tempDir(t)
	write(t, filepath.Join(root, "ctx", "Dockerfile"), "FROM scratch\n")
	write(t, filepath.Join(root, "ctx", ".containerignore"), "notes\n")
	t.Chdir(filepath.Join(root, "ctx"))
	ctx, df, err := Resolve("../ctx", "")
	if err != nil || ctx != filepath.Join(root, "ctx") || df != filepath.Join(root, "ctx", "Dockerfile") {
		t.Fatalf("Resolve = %q, %q, %v; want %q and its Dockerfile", ctx, df, err, filepath.Join(root, "ctx"))
	}
	ig, err := Ignore(ctx, df)
	if err != nil {
		t.Fatal(err)
	}
	if ignored, err := ig.Ignored("notes"); err != nil || !ignored {
		t.Errorf("notes ignored %v, %v; want true", ignored, err)
	}
}
