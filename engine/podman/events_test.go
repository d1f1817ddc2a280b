package podman

import (
	"context"
	"testing"
	"time"

	"archy.dev/archy/engine"
	"archy.dev/archy/schema"
)

// TestEvents sees a container start and die through the event stream,
// and the stream ends cleanly when the caller is done.
func TestEvents(t *testing.T) {
	env, p := connect(t)
	ctx := env.Context(t)
	buildWeb(ctx, t, p, nil)
	const name = "archy-events"
	if _, err := p.Create(ctx, engine.ContainerSpec{Name: name, Image: webTag, ContainerConfig: schema.ContainerConfig{Security: schema.Security{NetworkPolicy: "bridge"}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Remove(context.Background(), name, 0) })

	sub, cancel := context.WithCancel(ctx)
	events, errc := p.Events(sub, time.Time{})
	time.Sleep(200 * time.Millisecond) // let the subscription reach the service
	if err := p.Start(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(ctx, name, 0); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	timeout := time.After(10 * time.Second)
	for !seen["start"] || !seen["died"] {
		select {
		case e := <-events:
			if e.Container == name {
				seen[e.Action] = true
			}
		case err := <-errc:
			t.Fatalf("stream ended: %v", err)
		case <-timeout:
			t.Fatalf("saw %v within 10s, want start and died", seen)
		}
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("stream ended with %v after cancel, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("stream did not end after cancel")
	}
}
