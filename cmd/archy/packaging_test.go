package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackagingInstall runs packaging/install.sh against this binary (as
// archy, on $PATH while the tests run) into a staging root: the man page
// and the three completion scripts land where the distributions look.
func TestPackagingInstall(t *testing.T) {
	root := t.TempDir()
	cmd := exec.Command("sh", filepath.Join("..", "..", "packaging", "install.sh"), "archy")
	cmd.Env = append(os.Environ(), "DESTDIR="+root, "COMP_LINE=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("packaging/install.sh: %v\n%s", err, out)
	}
	for path, want := range map[string]string{
		"usr/share/man/man1/archy.1":                     ".TH ARCHY 1 ",
		"usr/share/bash-completion/completions/archy":    "complete -C archy archy",
		"usr/share/zsh/vendor-completions/_archy":        "#compdef archy",
		"usr/share/fish/vendor_completions.d/archy.fish": "complete -c archy -f",
	} {
		b, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			t.Error(err)
			continue
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("%s does not contain %q:\n%s", path, want, b)
		}
	}
}
