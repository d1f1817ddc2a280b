package podman

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containers/podman/v5/pkg/bindings/containers"

	"archy.dev/archy/engine"
	"archy.dev/archy/internal/podmantest"
	"archy.dev/archy/schema"
)

const stopperTag = "localhost/archy-podman-stopper:1"

// buildStopper builds testdata/images/stopper: a daemon that flushes for
// FLUSH_SECONDS after its stop signal, then writes the signal to
// /data/clean-stop and exits 0.
func buildStopper(ctx context.Context, t *testing.T, p *Podman) {
	t.Helper()
	dir := podmantest.BusyboxContext(t, "../../testdata/images/stopper")
	var out bytes.Buffer
	if _, err := p.Build(ctx, engine.BuildSpec{ContextDir: dir, Tag: stopperTag}, &out); err != nil {
		t.Fatalf("building %s: %v\n%s", stopperTag, err, out.String())
	}
}

// stopper runs the stand-in daemon under name with stop settings st.
func stopper(ctx context.Context, t *testing.T, p *Podman, name string, st schema.Stop, flush int) {
	t.Helper()
	run(ctx, t, p, engine.ContainerSpec{Name: name, Image: stopperTag, ContainerConfig: schema.ContainerConfig{
		Environment: map[string]string{"FLUSH_SECONDS": strconv.Itoa(flush)},
		Volumes:     []schema.Volume{{Name: name + "-data", Target: "/data"}},
		Stop:        st,
	}})
	t.Cleanup(func() { p.RemoveVolume(context.Background(), name+"-data") })
	if !waitFor(10*time.Second, func() bool { return strings.Contains(logs(ctx, t, p, name), "running") }) {
		t.Fatalf("%s did not start: %s", name, logs(ctx, t, p, name))
	}
}

func logs(ctx context.Context, t *testing.T, p *Podman, name string) string {
	var b syncBuffer
	p.Logs(ctx, name, -1, false, &b)
	return b.String()
}

// cleanStop is the stand-in's marker in its volume ("" when absent).
func cleanStop(ctx context.Context, t *testing.T, p *Podman, name string) string {
	t.Helper()
	dir, err := p.VolumeMountpoint(ctx, name+"-data")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "clean-stop"))
	return strings.TrimSpace(string(b))
}

// A container is created with its app's stop signal and timeout, so that
// a podman stop by hand (no timeout of its own) honours them: the stand-in
// gets SIGINT and the time to flush.
func TestCreateCarriesStopSettings(t *testing.T) {
	env, p := connect(t)
	ctx := env.Context(t)
	buildStopper(ctx, t, p)
	const name = "archy-stop-settings"
	stopper(ctx, t, p, name, schema.Stop{Signal: "SIGINT", Timeout: schema.Duration(30 * time.Second)}, 2)

	data, err := containers.Inspect(ctx, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if data.Config.StopTimeout != 30 {
		t.Errorf("StopTimeout %d, want 30", data.Config.StopTimeout)
	}
	if raw := rawInspect(ctx, t, p, name); !strings.Contains(raw, `"StopSignal":"SIGINT"`) && !strings.Contains(raw, `"StopSignal":2,`) {
		t.Errorf("StopSignal is not SIGINT: %s", raw)
	}

	start := time.Now()
	if err := containers.Stop(ctx, name, nil); err != nil { // podman stop, by hand
		t.Fatal(err)
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Errorf("the stop took %s, less than the stand-in's 2 s flush", took)
	}
	checkStopped(ctx, t, p, name, 0, "SIGINT")
}

// checkStopped checks the stand-in's exit code and marker.
func checkStopped(ctx context.Context, t *testing.T, p *Podman, name string, code int, marker string) {
	t.Helper()
	c, err := p.Inspect(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if c.ExitCode != code {
		t.Errorf("exit code %d, want %d", c.ExitCode, code)
	}
	if got := cleanStop(ctx, t, p, name); got != marker {
		t.Errorf("clean-stop marker %q, want %q", got, marker)
	}
}

// A stop whose timeout runs out kills the container: exit 137, no marker.
// The default settings are Podman's (SIGTERM, 10 s).
func TestStopTimeoutKills(t *testing.T) {
	env, p := connect(t)
	ctx := env.Context(t)
	buildStopper(ctx, t, p)
	const name = "archy-stop-kills"
	stopper(ctx, t, p, name, schema.Stop{}, 5)
	data, err := containers.Inspect(ctx, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if data.Config.StopTimeout != 10 {
		t.Errorf("default StopTimeout %d, want 10", data.Config.StopTimeout)
	}
	if err := p.Stop(ctx, name, time.Second); err != nil {
		t.Fatal(err)
	}
	checkStopped(ctx, t, p, name, 137, "")
}
