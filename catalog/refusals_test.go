package catalog

import (
	"path/filepath"
	"strings"
	"testing"

	"archy.dev/archy/schema"
)

// TestRefusals: an earlier generation's settings are checked with vet's
// rules and the options the catalogue was loaded with, opt-ins included.
func TestRefusals(t *testing.T) {
	dir := writeTree(t, map[string]string{"apps/a.cue": `package apps
apps: x: {name: "x", version: "2", container: image: "docker.io/library/busybox:1.36"
	ports: [{container: 80, host: 8080}]}
apps: y: {name: "y", version: "1", container: image: "docker.io/library/busybox:1.36"
	ports: [{container: 80, host: 9090}]}
`})
	load := func(opts Options) *Catalog {
		t.Helper()
		opts.DataDir = "/var/lib/archy"
		cat, err := Load(filepath.Join(dir, "apps"), opts)
		if err != nil {
			t.Fatal(err)
		}
		return cat
	}
	// generation is x as an earlier generation ran: its container only.
	generation := func(cat *Catalog, change func(*schema.ContainerConfig)) *schema.App {
		old := *cat.Apps["x"]
		old.Security.CapAdd = nil
		change(&old.ContainerConfig)
		return &old
	}
	strict, allowed := load(Options{}), load(Options{AllowPrivileged: []string{"x"}})
	tests := []struct {
		name   string
		cat    *Catalog
		change func(*schema.ContainerConfig)
		want   string // "" accepted
	}{
		{"as declared", strict, func(*schema.ContainerConfig) {}, ""},
		{"a root capability", strict, func(c *schema.ContainerConfig) { c.Security.CapAdd = []string{"SYS_ADMIN"} },
			`security.cap_add[0]: cap_add "SYS_ADMIN" amounts to root on the host; allow it with --allow-privileged x`},
		{"a root capability, allowed now", allowed, func(c *schema.ContainerConfig) { c.Security.CapAdd = []string{"SYS_ADMIN"} }, ""},
		{"privileged", strict, func(c *schema.ContainerConfig) { c.Security.Privileged = true },
			"security.privileged: privileged needs the operator's opt-in: --allow-privileged x"},
		{"a host path outside the roots", strict, func(c *schema.ContainerConfig) {
			c.Volumes = []schema.Volume{{HostPath: "/etc", Target: "/etc-host"}}
		}, "volumes[0].host_path: host path /etc is not below an allowed root"},
		{"archy's data dir", allowed, func(c *schema.ContainerConfig) {
			c.Volumes = []schema.Volume{{HostPath: "/var/lib/archy/state", Target: "/s"}}
		}, "is inside archy's data dir"},
		{"another app's host port", strict, func(c *schema.ContainerConfig) { c.Ports = []schema.Port{{Container: 80, Host: 9090, Protocol: "tcp"}} },
			"host port 9090/tcp is also published by app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := tt.cat.Refusals(generation(tt.cat, tt.change))
			switch {
			case tt.want == "" && len(ds) > 0:
				t.Errorf("refused: %v", ds)
			case tt.want != "" && !strings.Contains(ds.Error(), tt.want):
				t.Errorf("refusals %q, want %q", ds.Error(), tt.want)
			}
		})
	}
	// The declared app is left as it was.
	if a := strict.Apps["x"]; len(a.Security.CapAdd) != 0 || a.Ports[0].Host != 8080 {
		t.Errorf("x changed: %+v", a.ContainerConfig)
	}
}
