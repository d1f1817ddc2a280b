package podman

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"archy.dev/archy/engine"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// TestSnapshotCalls counts the HTTP requests a Snapshot sends (a wrapper
// around the connection's transport, see countCalls): the same for 3 and 30
// containers, and 2 in both cases.
func TestSnapshotCalls(t *testing.T) {
	env, p := connect(t)
	ctx := env.Context(t)
	imageID := buildWeb(ctx, t, p, map[string]string{plan.LabelApp: "snap", plan.LabelContextHash: "ctx-snap"})

	// A second connection that only ever snapshots, so the count is its own.
	counted, err := New(ctx, env.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer counted.Close()
	calls := countCalls(t, counted)

	snapshot := func() (plan.Observed, int64) {
		t.Helper()
		before := calls.Load()
		obs, err := counted.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return obs, calls.Load() - before
	}
	create := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			name := fmt.Sprintf("archy-snap-%02d", i)
			if _, err := p.Create(ctx, engine.ContainerSpec{
				Name: name, Image: webTag, ContainerConfig: schema.ContainerConfig{Command: sleeper},
				Labels: map[string]string{plan.LabelApp: "snap", "archy.test.index": fmt.Sprint(i)},
			}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { kill(t, p, name) })
		}
	}

	create(0, 3)
	obs3, calls3 := snapshot()
	create(3, 30)
	obs30, calls30 := snapshot()
	t.Logf("Snapshot API calls: %d with 3 containers, %d with 30", calls3, calls30)
	if calls3 != calls30 || calls30 != 2 {
		t.Fatalf("Snapshot made %d calls for 3 containers and %d for 30, want 2 and 2", calls3, calls30)
	}
	if n := len(snapContainers(obs3)); n != 3 {
		t.Fatalf("first snapshot has %d test containers, want 3", n)
	}
	snap := snapContainers(obs30)
	if len(snap) != 30 {
		t.Fatalf("second snapshot has %d test containers, want 30", len(snap))
	}

	// The fields the plan relies on.
	if err := p.Start(ctx, "archy-snap-00"); err != nil {
		t.Fatal(err)
	}
	obs, _ := snapshot()
	for _, c := range snapContainers(obs) {
		if strings.HasPrefix(c.Name, "/") || !strings.HasPrefix(c.Name, "archy-snap-") {
			t.Errorf("container name %q", c.Name)
		}
		if c.ID == "" || c.ImageID != imageID || c.Image != webTag || c.Labels["archy.test.index"] == "" {
			t.Errorf("container %s: id %q, image %q (%s), labels %v; want image %s (%s)",
				c.Name, c.ID, c.ImageID, c.Image, c.Labels, imageID, webTag)
		}
		wantState := plan.StateCreated
		if c.Name == "archy-snap-00" {
			wantState = plan.StateRunning
			if c.StartedAt.IsZero() {
				t.Errorf("running container %s has no StartedAt", c.Name)
			}
		}
		if c.State != wantState {
			t.Errorf("container %s is %q, want %q", c.Name, c.State, wantState)
		}
	}
	i := slices.IndexFunc(obs.Images, func(img plan.Image) bool { return img.ID == imageID })
	if i < 0 {
		t.Fatalf("snapshot lacks image %s: %+v", imageID, obs.Images)
	}
	img := obs.Images[i]
	if !slices.Contains(img.Tags, webTag) || img.Labels[plan.LabelContextHash] != "ctx-snap" {
		t.Errorf("image %s: tags %v, labels %v; want tag %s and the context hash label", img.ID, img.Tags, img.Labels, webTag)
	}
}

func snapContainers(obs plan.Observed) []plan.Container {
	return slices.DeleteFunc(slices.Clone(obs.Containers), func(c plan.Container) bool {
		return c.Labels[plan.LabelApp] != "snap"
	})
}
