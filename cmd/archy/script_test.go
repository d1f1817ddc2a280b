package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"archy.dev/archy/internal/podmantest"
)

// TestMain lets the test binary run as archy inside the scripts: a script's
// `archy ...` re-executes this binary, which then behaves like main.
func TestMain(m *testing.M) {
	testscript.Main(podmantest.M(m), map[string]func(){
		"archy": func() { os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs testdata/script/*.txtar. Set ARCHY_UPDATE_SCRIPTS=1 to
// rewrite the files that `cmp` compares against (golden output) in place;
// review the diff before committing it.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                filepath.Join("testdata", "script"),
		UpdateScripts:      os.Getenv("ARCHY_UPDATE_SCRIPTS") == "1",
		RequireUniqueNames: true,
		Setup:              setupScript,
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"env-fill": envFill,
		},
	})
}

// setupScript makes every script hermetic: archy's state dir (and so the
// default host-path root) lives inside $WORK, and no cue.mod above $WORK can
// make the apps directory part of someone else's CUE module (the loader
// must provide the schema itself).
func setupScript(e *testscript.Env) error {
	for d := filepath.Dir(e.WorkDir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "cue.mod")); err == nil {
			return fmt.Errorf("%s has a cue.mod: scripts must run outside any CUE module", d)
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	home := filepath.Join(e.WorkDir, ".home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	e.Setenv("HOME", home)
	e.Setenv("ARCHY_DATA_DIR", filepath.Join(e.WorkDir, "data"))
	e.Setenv("CONTAINER_HOST", "unix://"+filepath.Join(e.WorkDir, "podman.sock"))
	e.Setenv("NO_COLOR", "1")
	e.Setenv("ARCHY_SOCKET", filepath.Join(e.WorkDir, "archy.sock"))
	// The host's /etc/archy/apps must not stand in for a missing ./apps.
	e.Setenv("ARCHY_SYSTEM_APPS", filepath.Join(e.WorkDir, "etc", "archy", "apps"))
	return nil
}

// envFill rewrites files in place, replacing $VAR and ${VAR} with the
// script's environment, so that app files can name absolute paths inside
// $WORK (host-path volumes, build contexts).
func envFill(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: env-fill file...")
	}
	for _, arg := range args {
		name := ts.MkAbs(arg)
		data := os.Expand(ts.ReadFile(name), ts.Getenv)
		ts.Check(os.WriteFile(name, []byte(data), 0o644))
	}
}

// TestShippedCatalogue vets the real catalogue in apps/ the way CI and the
// image builder do: with the default options, from inside the repository
// (a CUE module, so the files may import the schema package themselves).
func TestShippedCatalogue(t *testing.T) {
	for _, k := range []string{"ARCHY_APPS", "ARCHY_DATA_DIR", "CONTAINER_HOST"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	var stdout, stderr bytes.Buffer
	code := Main([]string{"vet", "--apps", "../../apps"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("archy vet --apps ../../apps: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if strings.Contains(stdout.String(), ": 0 apps ok") {
		t.Errorf("apps/ declares no apps: %s", stdout.String())
	}
	// Every shipped secret is a file: an env one would show its value in
	// "podman inspect" on Podman 4.3.1 (docs/security.md).
	if strings.Contains(stderr.String(), ": note: ") || strings.Contains(stdout.String(), "note") {
		t.Errorf("shipped catalogue has notes:\n%s%s", stdout.String(), stderr.String())
	}
	if stderr.Len() > 0 {
		t.Logf("warnings:\n%s", stderr.String())
	}
}
