package catalog

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"archy.dev/archy/schema"
)

const shippedApps = "../apps"

// TestShippedCatalogue vets every app archy ships.
func TestShippedCatalogue(t *testing.T) {
	cat, err := Load(shippedApps, Options{DataDir: "/var/lib/archy"})
	if err != nil {
		t.Fatalf("shipped catalogue fails vet:\n%v", err)
	}
	if len(cat.Warnings) > 0 {
		t.Errorf("shipped catalogue has warnings:\n%v", cat.Warnings)
	}
	if len(cat.Notes) > 0 {
		t.Errorf("shipped catalogue has notes (every secret must be a file):\n%v", cat.Notes)
	}
	for _, id := range []string{
		"bitcoin-core", "electrs", "lnd", "filebrowser",
		"btcpay-db", "nbxplorer", "btcpay-server",
		"mempool-db", "mempool-api", "mempool-web",
		"bitcoin-ui", "electrs-ui", "lnd-ui",
	} {
		if cat.Apps[id] == nil {
			t.Errorf("app %s is missing from the catalogue", id)
		}
	}
	pinned := regexp.MustCompile(`:[A-Za-z0-9_][A-Za-z0-9_.-]*$|@sha256:[a-f0-9]{64}$`)
	for _, id := range cat.IDs() {
		app := cat.Apps[id]
		src := app.Container.Source
		switch {
		case app.Role == schema.RoleUI && (src.Type != schema.SourceBuild || app.ContainerName != "archy-"+id):
			t.Errorf("%s: a UI is built from docker/%s and named archy-%s; got %s source, name %s", id, id, id, src.Type, app.ContainerName)
		case src.Type == schema.SourcePull && (!pinned.MatchString(src.Image) || strings.HasSuffix(src.Image, ":latest")):
			t.Errorf("%s: image %s is not pinned to a version", id, src.Image)
		}
		for _, v := range app.Volumes {
			if v.Name == "" && v.HostPath == "" {
				t.Errorf("%s: volume at %s is anonymous", id, v.Target)
			}
		}
	}
}

// TestStockCueVetAgrees runs the cue CLI, at the version archy links, on
// the shipped apps and on an invalid one: app files that import the schema
// are checked by stock `cue vet` as archy checks them.
func TestStockCueVetAgrees(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the cue CLI")
	}
	cue := filepath.Join(t.TempDir(), "cue")
	build := exec.Command("go", "build", "-o", cue, "cuelang.org/go/cmd/cue")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the cue CLI: %v\n%s", err, out)
	}

	vet := exec.Command(cue, "vet", "-c", "./apps")
	vet.Dir = ".."
	if out, err := vet.CombinedOutput(); err != nil {
		t.Errorf("cue vet -c ./apps on the shipped apps: %v\n%s", err, out)
	}

	// A module like this repository, holding the embedded schema, with one
	// invalid app: both tools must reject it at the same field.
	files := map[string]string{
		"cue.mod/module.cue": "module: \"archy.dev/archy@v0\"\nlanguage: version: \"v0.17.0\"\n",
		"apps/schema.cue":    "package apps\n\nimport \"archy.dev/archy/schema\"\n\napps: schema.#Apps\n",
		"apps/a.cue":         "package apps\n\napps: a: {name: \"a\", version: \"1\", container: image: \"docker.io/library/busybox:1.36\"\n\tsecurity: network_policy: \"hots\"}\n",
	}
	err := fs.WalkDir(schema.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(schema.FS(), p)
			files["schema/"+p] = string(b)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := writeTree(t, files)
	vet = exec.Command(cue, "vet", "-c", "./apps")
	vet.Dir = dir
	out, err := vet.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "network_policy") {
		t.Errorf("cue vet accepted an invalid network_policy: %v\n%s", err, out)
	}
	_, err = Load(filepath.Join(dir, "apps"), Options{})
	if err == nil || !strings.Contains(err.Error(), `apps/a.cue:4:12: app "a": security.network_policy: "hots" is not allowed`) {
		t.Errorf("archy vet: %v", err)
	}
}

// handSteps are phrases of an app file that ask a person to do something
// before the node can boot, or that stand for a value someone must fill in.
var handSteps = regexp.MustCompile(`(?i)by hand|manually|run lncli|lncli create|rpcauth\.py|before (the )?first boot|openssl rand|\btodo\b|\bfixme\b|\bxxx\b|change[ -_]?me|replace[ -_]?me|placeholder|<password>|password123|hunter2`)

// secretLike are variable names whose value is a credential: they must come
// from secrets, or name a mounted secret file (*_FILE).
var secretLike = regexp.MustCompile(`(?i)pass(word)?|secret|token|(^|_)key$|auth`)

// TestShippedCatalogueNeedsNoHuman fails when the shipped catalogue needs a
// person on first boot: an app file asking for a hand step, a credential in
// plain environment, or a secret consumed that is not generated (first boot
// must need no secrets file). lnd's wallet must be made by its job.
func TestShippedCatalogueNeedsNoHuman(t *testing.T) {
	cat, err := Load(shippedApps, Options{DataDir: "/var/lib/archy"})
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(shippedApps, "*.cue"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no app files in %s: %v", shippedApps, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if m := handSteps.FindString(line); m != "" {
				t.Errorf("%s:%d: asks for a hand step (%q): %s", f, i+1, m, strings.TrimSpace(line))
			}
		}
	}

	generated := map[string]bool{}
	for name, g := range cat.Secrets {
		generated[name] = true
		if g.Type == schema.GenRPCAuth {
			generated[name+schema.RPCAuthSuffix] = true
		}
	}
	consumed := map[string]bool{}
	check := func(where string, secrets []schema.Secret, env map[string]string) {
		mounted := map[string]bool{}
		for _, s := range secrets {
			consumed[s.Name] = true
			if !generated[s.Name] {
				t.Errorf("%s consumes secret %s, which the catalogue does not generate: first boot would need a secrets file", where, s.Name)
			}
			if s.Env == "" {
				target := s.Target
				if target == "" {
					target = "/run/secrets/" + s.Name
				}
				mounted[target] = true
			}
		}
		for k, v := range env {
			switch {
			case strings.HasSuffix(k, "_FILE") && strings.HasPrefix(v, "/run/secrets/"):
				if !mounted[v] {
					t.Errorf("%s: %s=%s names no mounted secret", where, k, v)
				}
			case secretLike.MatchString(k) && !strings.HasSuffix(k, "_FILE"):
				t.Errorf("%s: %s is a credential in plain environment (%q): use a generated secret", where, k, v)
			}
		}
	}
	for _, app := range cat.List() {
		check("app "+app.ID, app.Secrets, app.Environment)
		for _, j := range app.Jobs {
			check("app "+app.ID+" job "+j.Name, j.Secrets, j.Env)
		}
	}
	for name := range cat.Secrets {
		if !consumed[name] && !consumed[name+schema.RPCAuthSuffix] {
			t.Errorf("generated secret %s is consumed by no app", name)
		}
	}

	lnd := cat.Apps["lnd"]
	if lnd == nil {
		t.Fatal("no app lnd")
	}
	var wallet *schema.Job
	for i, j := range lnd.Jobs {
		if j.Phase == schema.JobAfterHealthy && j.When == schema.JobFirstCreate && strings.Contains(strings.Join(j.Command, " "), "/v1/initwallet") {
			wallet = &lnd.Jobs[i]
		}
	}
	if wallet == nil {
		t.Errorf("lnd has no after-healthy, first-create job calling /v1/initwallet: its wallet would need a person")
	}
	unlock := false
	for _, a := range lnd.Command {
		if f, ok := strings.CutPrefix(a, "--wallet-unlock-password-file=/run/secrets/"); ok {
			unlock = generated[f] && wallet != nil && slicesContainsSecret(wallet.Secrets, f)
		}
	}
	if !unlock {
		t.Errorf("lnd does not unlock with the generated password its wallet job creates the wallet with")
	}
}

func slicesContainsSecret(ss []schema.Secret, name string) bool {
	for _, s := range ss {
		if s.Name == name {
			return true
		}
	}
	return false
}

// TestShippedEntrypoints runs the shell wrappers of the shipped apps with
// /run moved into a temporary directory and the final exec made a printf:
// bitcoin-core must get one -rpcauth= per mounted line, lnd and electrs a
// config file holding their RPC password, and each the rest of its command.
// The jobs' scripts must at least parse.
func TestShippedEntrypoints(t *testing.T) {
	for _, sh := range []string{"sh", "bash"} {
		if _, err := exec.LookPath(sh); err != nil {
			t.Fatalf("%s is needed: %v", sh, err)
		}
	}
	cat, err := Load(shippedApps, Options{DataDir: "/var/lib/archy"})
	if err != nil {
		t.Fatal(err)
	}
	run := func(app *schema.App, files map[string]string) (string, string) {
		t.Helper()
		ep := app.Entrypoint
		if len(ep) < 4 || ep[0] != "/bin/sh" || ep[1] != "-c" {
			t.Fatalf("%s: entrypoint %q is not /bin/sh -c SCRIPT NAME", app.ID, ep)
		}
		dir := t.TempDir()
		for name, v := range files {
			p := filepath.Join(dir, "run", name)
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		for _, m := range app.Tmpfs { // the container's tmpfs, here a directory
			if err := os.MkdirAll(filepath.Join(dir, m.Target), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		script := strings.ReplaceAll(ep[2], "/run/", dir+"/run/")
		script = strings.ReplaceAll(script, "exec ", `exec printf '%s\n' `)
		args := append([]string{"-c", script}, ep[3:]...)
		out, err := exec.Command("sh", append(args, app.Command...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: entrypoint: %v\n%s", app.ID, err, out)
		}
		return string(out), dir
	}

	core := cat.Apps["bitcoin-core"]
	files := map[string]string{}
	var want []string
	for _, s := range core.Secrets {
		files["secrets/"+s.Name] = "line-of-" + s.Name
		want = append(want, "-rpcauth=line-of-"+s.Name)
	}
	sort.Strings(want) // the shell's glob order
	out, _ := run(core, files)
	args := strings.Split(strings.TrimSpace(out), "\n")
	if args[0] != "/entrypoint.sh" || args[1] != "bitcoind" || !strings.HasSuffix(strings.Join(args, "\n"), strings.Join(want, "\n")) ||
		len(args) != 1+len(core.Command)+len(want) {
		t.Errorf("bitcoin-core runs %q; want /entrypoint.sh, its command and %q", args, want)
	}

	for id, conf := range map[string]string{
		"lnd":     "lnd/lnd.conf",
		"electrs": "electrs/electrs.toml",
	} {
		app := cat.Apps[id]
		pw := "pw-" + id + "_x="
		out, dir := run(app, map[string]string{"secrets/bitcoin-rpc-" + id: pw})
		b, err := os.ReadFile(filepath.Join(dir, "run", conf))
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if !strings.Contains(string(b), pw) || !strings.Contains(string(b), id) {
			t.Errorf("%s: config %s lacks user and password:\n%s", id, conf, b)
		}
		if strings.Contains(out, pw) || !strings.HasSuffix(strings.TrimSpace(out), strings.Join(append([]string{conf}, app.Command...), "\n")) {
			t.Errorf("%s: runs %q: the password must stay out of the arguments, the command must follow", id, out)
		}
	}

	for _, app := range cat.List() {
		for _, j := range app.Jobs {
			if len(j.Entrypoint) != 2 || j.Entrypoint[1] != "-c" || len(j.Command) != 1 {
				t.Errorf("%s job %s: want entrypoint SHELL -c and one script", app.ID, j.Name)
				continue
			}
			if out, err := exec.Command(filepath.Base(j.Entrypoint[0]), "-n", "-c", j.Command[0]).CombinedOutput(); err != nil {
				t.Errorf("%s job %s: script does not parse: %v\n%s", app.ID, j.Name, err, out)
			}
		}
	}
}
