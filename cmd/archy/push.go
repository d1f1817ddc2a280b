package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine"
	"archy.dev/archy/engine/podman"
	"archy.dev/archy/kube"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
	"archy.dev/archy/view"
)

// PushCmd builds what is missing or stale and pushes built images to a
// registry, under the names export kube --image-registry gives them.
type PushCmd struct {
	ImageRegistry string   `required:"" help:"Registry to push to: host[:port][/path], as given to export kube." placeholder:"REG"`
	Apps          []string `arg:"" optional:"" name:"app" help:"Built apps to push (default: every app built from a local context)." predictor:"app"`
}

// imagePusher is what push needs of the runtime.
type imagePusher interface {
	Snapshot(ctx context.Context) (plan.Observed, error)
	Build(ctx context.Context, spec engine.BuildSpec, progress io.Writer) (string, error)
	Push(ctx context.Context, source, dest string, progress io.Writer) error
	engine.ImageSpace
}

var _ imagePusher = (*podman.Podman)(nil)

func (c *PushCmd) Run(g *Globals) error {
	cat, err := g.loadCatalog()
	if err != nil {
		return err
	}
	apps, err := builtApps(cat.Apps, c.Apps)
	if err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	rt, err := podman.New(ctx, g.PodmanURL)
	if err != nil {
		return err
	}
	defer rt.Close()
	obs, err := rt.Snapshot(ctx)
	if err != nil {
		return err
	}
	out := view.NewProgress(g.stdout)
	for _, app := range apps {
		if err := c.push(ctx, out, rt, obs, app); err != nil {
			return err
		}
	}
	return nil
}

// builtApps are the named apps, each of which must be built, or every
// built app.
func builtApps(all map[string]*schema.App, ids []string) ([]*schema.App, error) {
	if len(ids) == 0 {
		for _, id := range slices.Sorted(maps.Keys(all)) {
			if all[id].Container.Source.Type == schema.SourceBuild {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			return nil, fmt.Errorf("no app is built from a local context: nothing to push")
		}
	}
	var out []*schema.App
	for _, id := range ids {
		app, ok := all[id]
		switch {
		case !ok:
			return nil, &catalog.UnknownAppError{ID: id}
		case app.Container.Source.Type != schema.SourceBuild:
			return nil, fmt.Errorf("%s pulls %s: nothing to push (a cluster pulls it from there)", id, app.Container.Source.Image)
		}
		out = append(out, app)
	}
	return out, nil
}

// push builds app's image unless the local one is current, then pushes it.
func (c *PushCmd) push(ctx context.Context, out *view.Progress, rt imagePusher, obs plan.Observed, app *schema.App) error {
	src := app.Container.Source
	dest, err := kube.RegistryRef(src.Tag, c.ImageRegistry)
	if err != nil {
		return fmt.Errorf("%s: %w", app.ID, err)
	}
	hash, err := engine.ContextHash(src)
	if err != nil {
		return fmt.Errorf("%s: hashing the build context: %w", app.ID, err)
	}
	if !imageCurrent(obs, src.Tag, hash) || src.AlwaysRebuild {
		if err := engine.CheckImageSpace(ctx, rt, "building", src.Tag); err != nil {
			return fmt.Errorf("%s: %w", app.ID, err)
		}
		out.Event(engine.Building{App: app.ID, Tag: src.Tag, Context: src.Context})
		_, err := rt.Build(ctx, engine.BuildSpec{
			ContextDir: src.ContextDir, Dockerfile: src.Dockerfile, Tag: src.Tag, BuildArgs: src.BuildArgs,
			Labels: map[string]string{plan.LabelApp: app.ID, plan.LabelContextHash: hash},
		}, io.Discard)
		if err != nil {
			return fmt.Errorf("building %s: %w", app.ID, err)
		}
	}
	out.Pushing(app.ID, src.Tag, dest)
	if err := rt.Push(ctx, src.Tag, dest, io.Discard); err != nil {
		return fmt.Errorf("%s: %w", app.ID, err)
	}
	return nil
}

// imageCurrent reports whether the image tagged tag was built from the
// context that hashes to hash.
func imageCurrent(obs plan.Observed, tag, hash string) bool {
	want := plan.NormalizeRef(tag)
	for _, img := range obs.Images {
		for _, t := range img.Tags {
			if plan.NormalizeRef(t) == want {
				return img.Labels[plan.LabelContextHash] == hash
			}
		}
	}
	return false
}
