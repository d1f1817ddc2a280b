package podmantest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/containers/buildah/define"
	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/containers/podman/v5/pkg/bindings/images"
	"github.com/containers/podman/v5/pkg/domain/entities/types"
	"github.com/containers/podman/v5/pkg/specgen"
	nettypes "go.podman.io/common/libnetwork/types"

	"archy.dev/archy/internal/podmantest"
)

const (
	marker   = "<title>archy-podmantest-web</title>" // in testdata/images/web/www/index.html
	webPort  = 8080                                  // httpd's port in testdata/images/web/Dockerfile
	localTag = "localhost/archy-podmantest-web:1"
	repo     = "archy/podmantest-web" // its name in the local registry
	httpWait = 15 * time.Second
)

func TestMain(m *testing.M) { podmantest.Main(m) }

// TestHarness proves the harness end to end through the v5 bindings: build a
// FROM scratch busybox image, run it with a published port, GET its page,
// push it to the local registry, drop it, pull it back and run it again.
func TestHarness(t *testing.T) {
	env := podmantest.Shared(t)
	ctx := env.Context(t)
	t.Logf("podman service %s (storage %s, network %s), registry %s", env.URL, env.StorageDriver, env.Network, env.Registry)
	remoteRef := env.Registry + "/" + repo + ":1"

	// Build.
	dir := podmantest.BusyboxContext(t, "../../testdata/images/web")
	var buildLog bytes.Buffer
	report, err := images.Build(ctx, []string{filepath.Join(dir, "Dockerfile")}, types.BuildOptions{
		BuildOptions: define.BuildOptions{
			ContextDirectory: dir,
			Output:           localTag,
			Out:              &buildLog,
			Err:              &buildLog,
			ReportWriter:     &buildLog,
		},
	})
	if err != nil {
		t.Fatalf("building %s: %v\n%s", localTag, err, buildLog.String())
	}
	built := inspectImage(ctx, t, localTag)
	if built.ID != report.ID {
		t.Fatalf("image %s has ID %s, build reported %s", localTag, built.ID, report.ID)
	}

	// Run and GET the page over the published port.
	name := "archy-podmantest-web"
	runAndGet(ctx, t, name, localTag)

	// Push; the registry itself must now list the repository and tag.
	var pushLog bytes.Buffer
	if err := images.Push(ctx, localTag, remoteRef, new(images.PushOptions).WithProgressWriter(&pushLog).WithQuiet(false)); err != nil {
		t.Fatalf("pushing %s to %s: %v\n%s", localTag, remoteRef, err, pushLog.String())
	}
	var catalog struct{ Repositories []string }
	getJSON(t, "http://"+env.Registry+"/v2/_catalog", &catalog)
	if !slices.Contains(catalog.Repositories, repo) {
		t.Fatalf("registry catalog %v lacks %s after push", catalog.Repositories, repo)
	}
	var tags struct{ Tags []string }
	getJSON(t, "http://"+env.Registry+"/v2/"+repo+"/tags/list", &tags)
	if !slices.Contains(tags.Tags, "1") {
		t.Fatalf("registry tags of %s are %v, want 1 among them", repo, tags.Tags)
	}

	// Remove the container and the local image.
	if _, err := containers.Remove(ctx, name, new(containers.RemoveOptions).WithForce(true).WithTimeout(0)); err != nil {
		t.Fatalf("removing container %s: %v", name, err)
	}
	if ok, err := containers.Exists(ctx, name, nil); err != nil || ok {
		t.Fatalf("container %s still exists after removal (exists=%v, err=%v)", name, ok, err)
	}
	if _, errs := images.Remove(ctx, []string{localTag}, nil); len(errs) > 0 {
		t.Fatalf("removing image %s: %v", localTag, errs)
	}
	for _, ref := range []string{localTag, built.ID} {
		if ok, err := images.Exists(ctx, ref, nil); err != nil || ok {
			t.Fatalf("image %s still exists after removal (exists=%v, err=%v)", ref, ok, err)
		}
	}

	// Pull it back: same image, and it runs.
	var pullLog bytes.Buffer
	ids, err := images.Pull(ctx, remoteRef, new(images.PullOptions).WithProgressWriter(&pullLog))
	if err != nil {
		t.Fatalf("pulling %s: %v\n%s", remoteRef, err, pullLog.String())
	}
	if !slices.Contains(ids, built.ID) {
		t.Fatalf("pull of %s returned %v, want the built image %s", remoteRef, ids, built.ID)
	}
	if ok, err := images.Exists(ctx, remoteRef, nil); err != nil || !ok {
		t.Fatalf("image %s missing after pull (exists=%v, err=%v)", remoteRef, ok, err)
	}
	if pulled := inspectImage(ctx, t, remoteRef); pulled.ID != built.ID {
		t.Fatalf("pulled image %s has ID %s, want %s", remoteRef, pulled.ID, built.ID)
	}
	runAndGet(ctx, t, name+"-pulled", remoteRef)

	// Clean up; each step must really remove what it names.
	if _, err := containers.Remove(ctx, name+"-pulled", new(containers.RemoveOptions).WithForce(true).WithTimeout(0)); err != nil {
		t.Fatalf("removing container %s-pulled: %v", name, err)
	}
	if _, errs := images.Remove(ctx, []string{remoteRef}, nil); len(errs) > 0 {
		t.Fatalf("removing image %s: %v", remoteRef, errs)
	}
	if list, err := images.List(ctx, nil); err != nil || len(list) != 0 {
		t.Fatalf("images left after cleanup: %d (err=%v)", len(list), err)
	}
}

// runAndGet creates and starts a container of image publishing the web port
// on a free 127.0.0.1 port, and waits for the page with the marker.
func runAndGet(ctx context.Context, t *testing.T, name, image string) {
	runAndGetURL(ctx, t, name, image)
}

// runAndGetURL is runAndGet, returning the page's URL.
func runAndGetURL(ctx context.Context, t *testing.T, name, image string) string {
	t.Helper()
	port, err := podmantest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	s := specgen.NewSpecGenerator(image, false)
	s.Name = name
	s.NetNS = specgen.Namespace{NSMode: specgen.Bridge}
	s.PortMappings = []nettypes.PortMapping{{
		HostIP: "127.0.0.1", HostPort: uint16(port), ContainerPort: webPort, Protocol: "tcp",
	}}
	created, err := containers.CreateWithSpec(ctx, s, nil)
	if err != nil {
		t.Fatalf("creating container %s from %s: %v", name, image, err)
	}
	if err := containers.Start(ctx, created.ID, nil); err != nil {
		t.Fatalf("starting container %s: %v", name, err)
	}
	data, err := containers.Inspect(ctx, created.ID, nil)
	if err != nil {
		t.Fatalf("inspecting container %s: %v", name, err)
	}
	if !data.State.Running {
		t.Fatalf("container %s is %s after start, want running", name, data.State.Status)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	took, err := podmantest.WaitForHTTP(ctx, url, marker, httpWait)
	if err != nil {
		t.Fatalf("container %s: %v", name, err)
	}
	t.Logf("container %s served %s after %v", name, url, took.Round(time.Millisecond))
	return url
}

func inspectImage(ctx context.Context, t *testing.T, ref string) *types.ImageInspectReport {
	t.Helper()
	img, err := images.GetImage(ctx, ref, nil)
	if err != nil {
		t.Fatalf("inspecting image %s: %v", ref, err)
	}
	return img
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: decoding: %v", url, err)
	}
}
