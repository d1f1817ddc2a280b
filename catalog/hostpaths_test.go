package catalog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestHostPathsNeverExposeArchysFiles: a host path may be in the data
// dir's volumes/ or below --allow-host-path, and never the data dir, a
// file in it, a directory that holds it, or one of archy's other files,
// however it is reached (links, links back out of volumes/). Each case is
// one app with one host path; the want is the message, "" for none.
func TestHostPathsNeverExposeArchysFiles(t *testing.T) {
	root := t.TempDir()
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r // macOS's /var -> /private/var
	}
	data := filepath.Join(root, "var/lib/archy")
	srv := filepath.Join(root, "srv")
	for _, d := range []string{data + "/volumes/btc", data + "/snapshots", data + "/jobs", srv + "/ok", root + "/etc/archy", root + "/run/archy"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{data + "/secrets.key", data + "/state.json", root + "/etc/archy/secrets.env", root + "/run/archy/archy.sock"} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for link, to := range map[string]string{
		srv + "/data":              data,
		srv + "/key":               data + "/secrets.key",
		srv + "/up":                "..", // srv/up/var/lib/archy is the data dir
		data + "/volumes/back":     "..",
		data + "/volumes/btc/keys": "../../secrets.key",
		data + "/volumes/srv":      srv + "/ok",
		srv + "/env":               root + "/etc/archy/secrets.env",
	} {
		if err := os.Symlink(to, link); err != nil {
			t.Fatal(err)
		}
	}
	const live = ", which no container may mount; host paths live in DATA/volumes/ or below --allow-host-path"
	cases := []struct{ hostPath, want string }{
		// Where host paths live.
		{"DATA/volumes/btc", ""},
		{"DATA/volumes/btc/blocks", ""}, // not there yet: made at apply
		{"DATA/volumes/new/x", ""},
		{"SRV/ok", ""},
		{"SRV/ok/sub", ""},
		{"DATA/volumes/srv", ""}, // a link out to an allowed root
		{"DATA/volumes", "host path DATA/volumes is an allowed root itself; mount a directory below it"},
		{"SRV", "host path SRV is an allowed root itself; mount a directory below it"},
		{"ROOT/opt/x", "host path ROOT/opt/x is not below an allowed root (DATA/volumes, SRV); use a named volume or pass --allow-host-path"},
		{"DATA/volumes/../secrets.key", "host path DATA/volumes/../secrets.key is not clean; write DATA/secrets.key"},
		// archy's data dir and what it writes there.
		{"DATA", "host path DATA is archy's data dir" + live},
		{"DATA/secrets.key", "host path DATA/secrets.key is inside archy's data dir DATA" + live},
		{"DATA/state.json", "host path DATA/state.json is inside archy's data dir DATA" + live},
		{"DATA/lock", "host path DATA/lock is inside archy's data dir DATA" + live},
		{"DATA/http-token", "host path DATA/http-token is inside archy's data dir DATA" + live},
		{"DATA/snapshots", "host path DATA/snapshots is inside archy's data dir DATA" + live},
		{"DATA/jobs/a", "host path DATA/jobs/a is inside archy's data dir DATA" + live},
		{"DATA/volumes2/x", "host path DATA/volumes2/x is inside archy's data dir DATA" + live},
		{"ROOT/var/lib", "host path ROOT/var/lib holds archy's data dir DATA" + live},
		{"ROOT", "host path ROOT holds archy's data dir DATA" + live},
		// ... reached through links, from an allowed root or from volumes/.
		{"SRV/data", "host path SRV/data (a link to DATA) is archy's data dir" + live},
		{"SRV/data/state.json", "host path SRV/data/state.json (a link to DATA/state.json) is inside archy's data dir DATA" + live},
		{"SRV/key", "host path SRV/key (a link to DATA/secrets.key) is inside archy's data dir DATA" + live},
		{"SRV/up/var/lib/archy", "host path SRV/up/var/lib/archy (a link to DATA) is archy's data dir" + live},
		{"SRV/up", "host path SRV/up (a link to ROOT) holds archy's data dir DATA" + live},
		{"DATA/volumes/back", "host path DATA/volumes/back (a link to DATA) is archy's data dir" + live},
		{"DATA/volumes/back/secrets.key", "host path DATA/volumes/back/secrets.key (a link to DATA/secrets.key) is inside archy's data dir DATA" + live},
		{"DATA/volumes/btc/keys", "host path DATA/volumes/btc/keys (a link to DATA/secrets.key) is inside archy's data dir DATA" + live},
		// archy's other files.
		{"ROOT/etc/archy", "host path ROOT/etc/archy holds archy's secrets file ROOT/etc/archy/secrets.env" + live},
		{"ROOT/etc/archy/secrets.env", "host path ROOT/etc/archy/secrets.env is archy's secrets file" + live},
		{"SRV/env", "host path SRV/env (a link to ROOT/etc/archy/secrets.env) is archy's secrets file" + live},
		{"ROOT/run/archy", "host path ROOT/run/archy holds archy's API socket ROOT/run/archy/archy.sock" + live},
	}
	expand := strings.NewReplacer("DATA", data, "SRV", srv, "ROOT", root)
	shorten := strings.NewReplacer(data, "DATA", srv, "SRV", root, "ROOT")
	var src strings.Builder
	src.WriteString("package apps\n")
	for i, c := range cases {
		fmt.Fprintf(&src, "apps: \"a%d\": {name: \"a\", version: \"1\", container: image: \"example.org/a:1\", volumes: [{host_path: %q, target: \"/v\"}]}\n",
			i, expand.Replace(c.hostPath))
	}
	dir := writeTree(t, map[string]string{"apps/a.cue": src.String()})
	_, err := Load(filepath.Join(dir, "apps"), Options{
		DataDir:       data,
		HostPathRoots: []string{srv},
		OwnPaths: []OwnPath{
			{Path: root + "/etc/archy/secrets.env", What: "archy's secrets file"},
			{Path: root + "/run/archy/archy.sock", What: "archy's API socket"},
			{Path: "", What: "the Podman socket"},
		},
	})
	var diags Diagnostics
	if err != nil && !errors.As(err, &diags) {
		t.Fatalf("Load: %v", err)
	}
	got := map[string]string{}
	for _, d := range diags {
		if d.Path != "volumes[0].host_path" {
			t.Errorf("%s: at %s, want volumes[0].host_path", d.App, d.Path)
		}
		got[d.App] = shorten.Replace(d.Msg)
	}
	for i, c := range cases {
		if diff := cmp.Diff(c.want, got[fmt.Sprintf("a%d", i)]); diff != "" {
			t.Errorf("host path %s (-want +got):\n%s", c.hostPath, diff)
		}
	}
}

// TestHostPathRootsAboveTheDataDir: an --allow-host-path that holds the
// data dir allows its other directories, never the data dir.
func TestHostPathRootsAboveTheDataDir(t *testing.T) {
	root := t.TempDir()
	data := filepath.Join(root, "archy")
	dir := writeTree(t, map[string]string{"apps/a.cue": fmt.Sprintf(`package apps
apps: ok: {name: "a", version: "1", container: image: "example.org/a:1", volumes: [{host_path: %q, target: "/v"}]}
apps: no: {name: "a", version: "1", container: image: "example.org/a:1", volumes: [{host_path: %q, target: "/v"}]}
`, root+"/other", data+"/state.json")})
	_, err := Load(filepath.Join(dir, "apps"), Options{DataDir: data, HostPathRoots: []string{root}})
	var diags Diagnostics
	if !errors.As(err, &diags) || len(diags) != 1 || diags[0].App != "no" || !strings.Contains(diags[0].Msg, "is inside archy's data dir") {
		t.Errorf("Load: %v; want one error, for app no's state.json", err)
	}
}
