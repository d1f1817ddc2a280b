package podman

import (
	"context"
	"errors"
	"testing"
	"time"

	"archy.dev/archy/engine"
	"archy.dev/archy/schema"
)

// Wait returns a job's exit code once it exits, and ends with its context
// while the container still runs; VolumesCreated sees a new named volume.
func TestWaitAndVolumesCreated(t *testing.T) {
	env, p := connect(t)
	ctx := env.Context(t)
	const name, volume = "archy-wait-job", "archy-wait-data"
	buildWeb(ctx, t, p, nil)
	run(ctx, t, p, engine.ContainerSpec{Name: name, Image: webTag, ContainerConfig: schema.ContainerConfig{
		Entrypoint: []string{busybox}, Command: []string{"sh", "-c", "sleep 1; exit 7"},
		Security: schema.Security{NetworkPolicy: "none"},
		Volumes:  []schema.Volume{{Name: volume, Target: "/data"}},
	}})
	t.Cleanup(func() { p.RemoveVolume(context.Background(), volume) })
	if code, err := p.Wait(ctx, name); err != nil || code != 7 {
		t.Fatalf("Wait = %d, %v; want 7", code, err)
	}
	created, err := p.VolumesCreated(ctx)
	if err != nil || created[volume].IsZero() {
		t.Fatalf("VolumesCreated: %v, %v; want %s", created, err, volume)
	}

	const sleeper = "archy-wait-sleeper"
	run(ctx, t, p, engine.ContainerSpec{Name: sleeper, Image: webTag, ContainerConfig: schema.ContainerConfig{
		Entrypoint: []string{busybox}, Command: []string{"sleep", "3600"},
		Security: schema.Security{NetworkPolicy: "none"},
	}})
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if _, err := p.Wait(short, sleeper); !errors.Is(err, context.DeadlineExceeded) && short.Err() == nil {
		t.Fatalf("Wait on a running container returned %v before its context ended", err)
	}
}
