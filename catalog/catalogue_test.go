package catalog

import (
	"io/fs"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"archy.dev/archy/schema"
)

const shippedApps = "../apps"

// TestShippedCatalogue vets every app archy ships.
func TestShippedCatalogue(t *testing.T) {
	cat, err := Load(shippedApps, Options{HostPathRoots: []string{"/var/lib/archy"}})
	if err != nil {
		t.Fatalf("shipped catalogue fails vet:\n%v", err)
	}
	if len(cat.Warnings) > 0 {
		t.Errorf("shipped catalogue has warnings:\n%v", cat.Warnings)
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
