package podman

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// monitorWait bounds how long Remove waits for a removed container's
// processes to go (see waitReleased).
const monitorWait = 15 * time.Second

// waitReleased waits until no process of this host names container id
// on its command line: its conmon, and the `podman container cleanup`
// conmon runs when it ends. After a start that failed (runc could not
// exec the command, say) both outlive the container's removal for a
// moment, and conmon still holds the container's published ports (Podman
// hands it the bound sockets): a container started on them meanwhile, the
// old one an upgrade puts back, fails with "address already in use". It
// gives up after monitorWait or when ctx ends; a Podman on another host
// has no such processes here, and nothing is waited for.
func waitReleased(ctx context.Context, id string) {
	if id == "" {
		return
	}
	deadline := time.Now().Add(monitorWait)
	for holdsContainer(id) && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// holdsContainer reports whether a process of this host has container
// id (its full id) among its arguments, other than the monitor of an exec
// session (a health check's): Podman keeps those asleep for minutes after
// the command ended, and they hold no port.
func holdsContainer(id string) bool {
	for _, args := range processes() {
		if slices.ContainsFunc(args, func(a string) bool { return strings.Contains(a, id) }) &&
			!slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--exec") }) {
			return true
		}
	}
	return false
}

// processes returns every process's command line by pid.
func processes() map[int][]string {
	entries, _ := os.ReadDir("/proc")
	procs := map[int][]string{}
	for _, ent := range entries {
		if pid, err := strconv.Atoi(ent.Name()); err == nil {
			if args := cmdline(pid); len(args) > 0 {
				procs[pid] = args
			}
		}
	}
	return procs
}

// cmdline is a process's command line; empty once it has exited (a zombie
// has none) or if it cannot be read.
func cmdline(pid int) []string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}
