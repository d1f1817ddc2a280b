package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine"
	"archy.dev/archy/graph"
	"archy.dev/archy/internal/diskfree"
	"archy.dev/archy/schema"
)

// The disk guard: before each full reconcile (every Config.Interval, 30 s
// by default) the daemon measures the free space of every volume that
// declares min_free. An app with a volume below it is stopped, the apps
// that depend on it first, and held (plan.AppIntent.DiskLow) so that no
// apply, heal or daemon restart starts it while space is low. Once every
// volume of a held app has min_free plus a tenth of it again (so that an
// app writing near the threshold does not flap), it is started again, and
// then the apps it held. Nothing is ever deleted: making room is the
// operator's call. See docs/disk.md.

// volumeSpace is one watched volume's file system as just measured.
type volumeSpace struct {
	App      string
	Path     string // the host path, or the named volume's mountpoint
	Free     int64
	MinFree  int64
	Declared string // min_free as written ("5Gi")
	Err      error  // the space could not be measured
}

// diskHold is an app to stop and hold, and why.
type diskHold struct {
	App, Why string
}

// diskDecision is what the guard does: stop Stop in order (dependents
// first), then start Start in order (dependencies first); Why says why
// each may run again.
type diskDecision struct {
	Stop, Start []diskHold
}

// releaseMargin is how far above min_free a volume must be before a held
// app starts again.
func releaseMargin(minFree int64) int64 { return minFree / 10 }

// decideDisk is the guard's decision, pure: levels are the apps in
// dependency order (graph.Levels), deps each app's dependencies, spaces
// the watched volumes, held the apps held now with why, inactive the apps
// the operator stopped or removed (not held: they do not run anyway, and
// neither do they hold their dependents).
func decideDisk(levels [][]string, deps graph.Graph, spaces []volumeSpace, held map[string]string, inactive map[string]bool) diskDecision {
	byApp := map[string][]volumeSpace{}
	for _, v := range spaces {
		byApp[v.App] = append(byApp[v.App], v)
	}
	want := map[string]string{} // app -> why it must be held
	for _, level := range levels {
		for _, id := range level {
			if inactive[id] {
				continue
			}
			if why := lowVolume(byApp[id], held[id] != ""); why != "" {
				want[id] = why
				continue
			}
			for _, dep := range slices.Sorted(slices.Values(deps[id])) {
				if _, ok := want[dep]; ok {
					want[id] = "its dependency " + dep + " is stopped for low disk space"
					break
				}
			}
		}
	}
	var dec diskDecision
	for i := len(levels) - 1; i >= 0; i-- {
		for _, id := range levels[i] {
			if why, ok := want[id]; ok && held[id] == "" {
				dec.Stop = append(dec.Stop, diskHold{App: id, Why: why})
			}
		}
	}
	for _, level := range levels {
		for _, id := range level {
			if _, ok := want[id]; !ok && held[id] != "" {
				why := "the apps it depends on have disk space again"
				switch {
				case inactive[id]:
					why = "the operator stopped it (archy stop) or removed it"
				case len(byApp[id]) > 0:
					why = enoughSpace(byApp[id])
				}
				dec.Start = append(dec.Start, diskHold{App: id, Why: why})
			}
		}
	}
	return dec
}

// lowVolume says why app id's volumes are too full ("" when they are
// not). A held app must have the release margin too; one whose space could
// not be measured stays as it is.
func lowVolume(vols []volumeSpace, held bool) string {
	for _, v := range vols {
		need := v.MinFree
		if held {
			need += releaseMargin(v.MinFree)
		}
		switch {
		case v.Err != nil && held:
			return fmt.Sprintf("the free space on %s cannot be measured (%v)", v.Path, v.Err)
		case v.Err != nil:
		case v.Free < need && held:
			return fmt.Sprintf("%s free on %s, below min_free %s plus its 10%% margin", schema.FormatSize(v.Free), v.Path, v.Declared)
		case v.Free < need:
			return fmt.Sprintf("%s free on %s, below min_free %s", schema.FormatSize(v.Free), v.Path, v.Declared)
		}
	}
	return ""
}

// enoughSpace says how much room an app's volumes have again.
func enoughSpace(vols []volumeSpace) string {
	var parts []string
	for _, v := range vols {
		parts = append(parts, fmt.Sprintf("%s free on %s", schema.FormatSize(v.Free), v.Path))
	}
	return strings.Join(parts, ", ") + ", above min_free plus its 10% margin"
}

// measureVolumes measures the watched volumes of the apps: a host path
// where it is, a named volume at its mountpoint (a Podman on this host).
func measureVolumes(ctx context.Context, rt engine.Volumes, apps []*schema.App) []volumeSpace {
	var out []volumeSpace
	for _, app := range apps {
		for _, v := range app.Volumes {
			min, err := v.MinFreeBytes()
			if err != nil || min <= 0 {
				continue // vet reports a bad size
			}
			vs := volumeSpace{App: app.ID, Path: v.HostPath, MinFree: min, Declared: v.MinFree}
			if v.Name != "" {
				vs.Path = v.Name // named so in errors until its mountpoint is known
				if mp, err := rt.VolumeMountpoint(ctx, v.Name); err != nil {
					vs.Err = err
				} else {
					vs.Path = mp
				}
			}
			if vs.Err == nil {
				vs.Free, vs.Err = diskfree.Bytes(vs.Path)
			}
			out = append(out, vs)
		}
	}
	return out
}

// guardDisk measures the watched volumes and stops or starts apps as
// decideDisk says, each under its lock, with an event each.
func (d *Daemon) guardDisk(ctx context.Context, rt engine.Runtime, node *engine.Node, cat *catalog.Catalog) {
	apps := cat.List()
	st, err := node.State.Load()
	if err != nil {
		d.log.Error("disk guard: reading state", "err", err)
		return
	}
	held, inactive := map[string]string{}, map[string]bool{}
	for id, it := range st.Apps {
		if it.DiskLow != "" {
			held[id] = it.DiskLow
		}
		inactive[id] = it.Stopped || it.Removed
	}
	watched := slices.ContainsFunc(apps, func(a *schema.App) bool {
		return slices.ContainsFunc(a.Volumes, func(v schema.Volume) bool { return v.MinFree != "" })
	})
	if !watched && len(held) == 0 { // (a min_free taken out of the apps releases its holds)
		return
	}
	g := graph.DependencyGraph(apps)
	levels, err := graph.Levels(g)
	if err != nil {
		return // vet rejects cycles; the catalogue would not load
	}
	spaces := measureVolumes(ctx, rt, apps)
	for _, v := range spaces {
		if v.Err != nil && !errors.Is(v.Err, engine.ErrNotFound) { // a volume not created yet is no news
			d.log.Warn("disk guard: cannot measure a volume", "app", v.App, "err", v.Err)
		}
	}
	dec := decideDisk(levels, g, spaces, held, inactive)
	for _, h := range dec.Stop {
		err := d.act(ctx, h.App, func(ctx context.Context, rt engine.Runtime, node *engine.Node, cat *catalog.Catalog) error {
			return node.HoldForDisk(ctx, cat, h.App, h.Why, d.applier(node, nil))
		})
		if err != nil {
			d.publish(engine.Event{Type: engine.EventFailure, App: h.App, Message: "stopping for low disk space: " + err.Error()})
			continue
		}
		d.publish(engine.Event{Type: engine.EventFailure, App: h.App, Message: "stopped: " + h.Why})
	}
	for _, h := range dec.Start {
		id := h.App
		err := d.act(ctx, id, func(ctx context.Context, rt engine.Runtime, node *engine.Node, cat *catalog.Catalog) error {
			rep, err := node.ReleaseDiskHold(ctx, cat, id, d.applier(node, d.lockOthers(id)))
			if err == nil {
				err = rep.Err()
			}
			for _, o := range rep.Outcomes {
				d.recordStarted(o)
			}
			return err
		})
		if err != nil {
			d.publish(engine.Event{Type: engine.EventFailure, App: id, Message: "starting again after low disk space: " + err.Error()})
			continue
		}
		msg := "started again: " + h.Why
		if inactive[id] {
			msg = "no longer held for low disk space: " + h.Why
		}
		d.publish(engine.Event{Type: engine.EventState, App: id, Message: msg})
	}
}
