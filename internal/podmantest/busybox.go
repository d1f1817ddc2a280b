package podmantest

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// busyboxPaths are where Debian's busybox-static puts its binary (/bin is a
// symlink to /usr/bin on Debian 12, not on older systems).
var busyboxPaths = []string{"/bin/busybox", "/usr/bin/busybox"}

// BusyboxPath returns the path of a statically linked busybox, which is all a
// FROM scratch test image needs to run httpd, nc and sh.
func BusyboxPath() (string, error) {
	var errs []error
	for _, p := range busyboxPaths {
		err := checkStatic(p)
		if err == nil {
			return p, nil
		}
		errs = append(errs, err)
	}
	return "", fmt.Errorf("no static busybox (install busybox-static, see scripts/deps.sh): %w", errors.Join(errs...))
}

// checkStatic fails unless path is an ELF executable without an interpreter:
// a dynamic busybox (Debian's busybox package) cannot run in a scratch image.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", path)
		}
	}
	return nil
}

// CopyBusyboxContext copies the build context src into dst (created if
// needed, must not hold files of the same names) and adds the static busybox
// as dst/busybox, so that a Dockerfile can `COPY busybox /bin/busybox`.
func CopyBusyboxContext(dst, src string) error {
	bin, err := BusyboxPath()
	if err != nil {
		return err
	}
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		return fmt.Errorf("copying build context %s: %w", src, err)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return fmt.Errorf("reading busybox: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dst, "busybox"), b, 0o755); err != nil {
		return fmt.Errorf("adding busybox to build context: %w", err)
	}
	return nil
}

// BusyboxContext returns a copy of the build context srcDir, in a temp dir
// of t, with the static busybox added as "busybox" (see [CopyBusyboxContext]).
func BusyboxContext(t testing.TB, srcDir string) string {
	t.Helper()
	dst := t.TempDir()
	if err := CopyBusyboxContext(dst, srcDir); err != nil {
		t.Fatalf("preparing busybox build context: %v", err)
	}
	return dst
}
