package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDefaultAppsDir(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	system := filepath.Join(dir, "etc", "apps")
	if got := defaultAppsDir(system); got != localAppsDir {
		t.Errorf("neither exists: %q, want %q (named in the error)", got, localAppsDir)
	}
	if err := os.MkdirAll(system, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := defaultAppsDir(system); got != system {
		t.Errorf("only the system's exists: %q, want %q", got, system)
	}
	if got := defaultAppsDir(""); got != localAppsDir {
		t.Errorf("no system dir: %q, want %q", got, localAppsDir)
	}
	if err := os.Mkdir("apps", 0o755); err != nil {
		t.Fatal(err)
	}
	if got := defaultAppsDir(system); got != localAppsDir {
		t.Errorf("both exist: %q, want %q", got, localAppsDir)
	}
}
