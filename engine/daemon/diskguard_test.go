package daemon

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"archy.dev/archy/engine"
	"archy.dev/archy/engine/enginetest"
	"archy.dev/archy/graph"
	"archy.dev/archy/schema"
)

func TestDecideDisk(t *testing.T) {
	// core <- lnd <- lnd-ui; core <- electrs; other stands alone.
	deps := graph.Graph{"core": {}, "lnd": {"core"}, "lnd-ui": {"lnd"}, "electrs": {"core"}, "other": {}}
	levels, err := graph.Levels(deps)
	if err != nil {
		t.Fatal(err)
	}
	const mi = 1 << 20
	core := func(free int64) volumeSpace {
		return volumeSpace{App: "core", Path: "/data/core", Free: free, MinFree: 100 * mi, Declared: "100Mi"}
	}
	lnd := func(free int64) volumeSpace {
		return volumeSpace{App: "lnd", Path: "/data/lnd", Free: free, MinFree: 10 * mi, Declared: "10Mi"}
	}
	const coreLow = "50.0 MiB free on /data/core, below min_free 100Mi"
	const heldByCore = "its dependency core is stopped for low disk space"
	allHeld := map[string]string{"core": coreLow, "lnd": heldByCore, "lnd-ui": "its dependency lnd is stopped for low disk space", "electrs": heldByCore}
	for _, tc := range []struct {
		name     string
		spaces   []volumeSpace
		held     map[string]string
		inactive map[string]bool
		want     diskDecision
	}{
		{name: "room enough: nothing to do",
			spaces: []volumeSpace{core(200 * mi), lnd(20 * mi)}},
		{name: "below min_free: dependents stopped first, deepest first",
			spaces: []volumeSpace{core(50 * mi), lnd(20 * mi)},
			want: diskDecision{Stop: []diskHold{
				{"lnd-ui", "its dependency lnd is stopped for low disk space"},
				{"electrs", heldByCore}, {"lnd", heldByCore}, {"core", coreLow}}}},
		{name: "exactly min_free is enough",
			spaces: []volumeSpace{core(100 * mi)}},
		{name: "a low leaf stops only itself",
			spaces: []volumeSpace{core(200 * mi), lnd(5 * mi)},
			want: diskDecision{Stop: []diskHold{
				{"lnd-ui", "its dependency lnd is stopped for low disk space"},
				{"lnd", "5.0 MiB free on /data/lnd, below min_free 10Mi"}}}},
		{name: "held: stays held above min_free but within the margin",
			spaces: []volumeSpace{core(105 * mi)}, held: allHeld},
		{name: "held: space back past the margin starts it, then its dependents",
			spaces: []volumeSpace{core(120 * mi), lnd(20 * mi)}, held: allHeld,
			want: diskDecision{Start: []diskHold{
				{"core", "120.0 MiB free on /data/core, above min_free plus its 10% margin"},
				{"electrs", "the apps it depends on have disk space again"},
				{"lnd", "20.0 MiB free on /data/lnd, above min_free plus its 10% margin"},
				{"lnd-ui", "the apps it depends on have disk space again"}}}},
		{name: "held: a dependent whose own volume is low stays held",
			spaces: []volumeSpace{core(120 * mi), lnd(5 * mi)}, held: allHeld,
			want: diskDecision{Start: []diskHold{
				{"core", "120.0 MiB free on /data/core, above min_free plus its 10% margin"},
				{"electrs", "the apps it depends on have disk space again"}}}},
		{name: "unmeasurable: a running app is left running, a held one stays held",
			spaces: []volumeSpace{{App: "core", Path: "bitcoin-data", MinFree: 100 * mi, Err: errors.New("no such volume")}},
			held:   map[string]string{"other": "x"}, // not watched any more: released
			want:   diskDecision{Start: []diskHold{{"other", "the apps it depends on have disk space again"}}}},
		{name: "unmeasurable while held: stays held",
			spaces: []volumeSpace{{App: "core", Path: "bitcoin-data", MinFree: 100 * mi, Err: errors.New("no such volume")}},
			held:   allHeld},
		{name: "stopped by the operator while held: released (the operator's stop keeps it stopped)",
			spaces: []volumeSpace{core(50 * mi)}, held: map[string]string{"core": coreLow},
			inactive: map[string]bool{"core": true},
			want:     diskDecision{Start: []diskHold{{"core", "the operator stopped it (archy stop) or removed it"}}}},
		{name: "stopped by the operator: not held, nor are its dependents",
			spaces:   []volumeSpace{core(50 * mi)},
			inactive: map[string]bool{"core": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := decideDisk(levels, deps, tc.spaces, tc.held, tc.inactive)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("decision (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMeasureVolumes(t *testing.T) {
	rt := enginetest.New()
	host := t.TempDir()
	app := &schema.App{ID: "core", ContainerConfig: schema.ContainerConfig{Volumes: []schema.Volume{
		{Name: "core-data", Target: "/data", MinFree: "5Gi"},
		{HostPath: host, Target: "/blocks", MinFree: "1Mi"},
		{Name: "core-cache", Target: "/cache"}, // not watched
	}}}
	ctx := context.Background()

	// Named volumes unknown to the runtime (not created yet): not found.
	got := measureVolumes(ctx, rt, []*schema.App{app})
	if len(got) != 2 || !errors.Is(got[0].Err, engine.ErrNotFound) || got[1].Err != nil || got[1].Path != host || got[1].Free <= 0 {
		t.Fatalf("measured %+v; want the named volume not found and the host path measured", got)
	}
	rt.SetVolumeRoot(t.TempDir())
	got = measureVolumes(ctx, rt, []*schema.App{app})
	if v := got[0]; v.Err != nil || v.Path != filepath.Join(rt.VolumeRoot(), "core-data") || v.Free <= 0 ||
		v.MinFree != 5<<30 || v.Declared != "5Gi" || v.App != "core" {
		t.Errorf("named volume measured as %+v; want its mountpoint's free space", v)
	}
}
