package podmantest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// dirPattern names every Env's dir under os.TempDir().
const dirPattern = "archy-podman-*"

// ownerFile in an Env's dir identifies the process that owns it.
const ownerFile = "owner"

// writeOwner records this process as the owner of dir.
func writeOwner(dir string) error {
	id, err := processID(os.Getpid())
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(id), 0o644); err != nil {
		return fmt.Errorf("writing owner of %s: %w", dir, err)
	}
	return nil
}

// processID is "PID STARTTIME": unlike a PID alone, it is never reused.
func processID(pid int) (string, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", err
	}
	// The command name (field 2) may hold spaces; fields after it do not.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(fields) < 20 {
		return "", fmt.Errorf("parsing /proc/%d/stat", pid)
	}
	return fmt.Sprintf("%d %s", pid, fields[19]), nil // starttime is field 22
}

// reapStale cleans up the dirs of test processes that died without closing
// their Env (SIGKILL, a `go test -timeout` panic). Their service and registry
// died with them (Pdeathsig), but containers, their monitors and overlay
// mounts outlive them.
func reapStale(podman string) error {
	dirs, err := filepath.Glob(filepath.Join(os.TempDir(), dirPattern))
	if err != nil {
		return err
	}
	var errs []error
	for _, dir := range dirs {
		if !isStale(dir) {
			continue
		}
		if err := reap(podman, dir); err != nil {
			errs = append(errs, fmt.Errorf("cleaning up stale %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}

func isStale(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		// Another process may have just created it; give it time to say so.
		info, err := os.Stat(dir)
		return err == nil && time.Since(info.ModTime()) > time.Minute
	}
	pid, _, _ := strings.Cut(string(b), " ")
	n, err := strconv.Atoi(pid)
	if err != nil {
		return true
	}
	id, err := processID(n)
	return err != nil || id != string(b)
}

// reap removes the containers of a dead Env through podman itself, so their
// network set-up and runtime state go too, then closes what is left.
func reap(podman, dir string) error {
	e := &Env{
		Dir:            dir,
		containersConf: filepath.Join(dir, "containers.conf"),
		registriesConf: filepath.Join(dir, "registries.conf"),
		storageConf:    filepath.Join(dir, "storage.conf"),
	}
	var errs []error
	for _, driver := range []string{"overlay", "vfs"} {
		if _, err := os.Stat(filepath.Join(dir, "root", driver)); err != nil {
			continue
		}
		for _, what := range []string{"pod", "container"} {
			cmd := exec.Command(podman,
				"--root", filepath.Join(dir, "root"),
				"--runroot", filepath.Join(dir, "runroot"),
				"--tmpdir", filepath.Join(dir, "tmp"),
				"--storage-driver", driver,
				what, "rm", "--all", "--force", "--time", "0")
			cmd.Env = e.serviceEnviron()
			if out, err := cmd.CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("podman %s rm: %w: %s", what, err, out))
			}
		}
	}
	// Close kills whatever podman could not remove, unmounts and deletes.
	if err := e.Close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
