package catalog

import "testing"

// TestRuntimeTarget: the targets runc refuses (cleaned first, as vet
// cleans them) and some near them that it takes.
func TestRuntimeTarget(t *testing.T) {
	for target, refused := range map[string]bool{
		"/": true, "/proc": true, "/proc/evil": true, "/proc/sys/kernel": true,
		"/sys": true, "/sys/fs/cgroup": true, "/dev": true,
		"/data": false, "/dev/shm": false, "/dev/net": false, "/procfs": false,
		"/system": false, "/devices": false, "/run/secrets/pw": false,
	} {
		if got := runtimeTarget(target) != ""; got != refused {
			t.Errorf("runtimeTarget(%q) refuses: %v, want %v", target, got, refused)
		}
	}
}
