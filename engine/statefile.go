package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine/state"
	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// CheckState reports whether archy may act on the node's state: nil, or
// an error wrapping state.ErrUnusable (the state is damaged with no
// previous good version, of an unknown version, or missing while
// containers archy made are there: docs/state.md). record: the caller
// holds the host-wide lock and changes the node; on a fresh node (no
// state, no container of archy's) an empty state is written then, so
// that a container the caller goes on to create is never taken for one
// whose state was deleted.
func (n *Node) CheckState(ctx context.Context, record bool) error {
	if !n.State.Missing() {
		if _, err := n.State.Load(); err != nil {
			return err
		}
		if record && n.State.Check() != nil {
			// Read from state.json.prev: write it back, so that the
			// fallback lasts (the damaged file is set aside).
			return n.State.Update(func(*state.State) {})
		}
		return nil
	}
	obs, err := n.Runtime.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("reading podman state: %w", err)
	}
	if apps := archyApps(obs); len(apps) > 0 {
		return &state.MissingError{Path: n.State.Path(), Apps: apps}
	}
	if record {
		return n.State.Save(state.State{Apps: plan.Intent{}})
	}
	return nil
}

// archyApps are the apps, sorted, that have a container archy made
// (its labels say so), set-aside ones included.
func archyApps(obs plan.Observed) []string {
	var apps []string
	for _, c := range obs.Containers {
		id := c.Labels[plan.LabelApp]
		if plan.CreatedByArchy(&c, id) && !slices.Contains(apps, id) {
			apps = append(apps, id)
		}
	}
	slices.Sort(apps)
	return apps
}

// StateReset is what archy state reset rebuilt and what it could not.
type StateReset struct {
	Was      string   // what was wrong with state.json ("" when it read well)
	Kept     []string // what the new state records, one line per app
	Notes    []string // what the operator should look at
	SetAside string   // where the old file went ("" when there was none)
}

// stateResetOutcome marks the generations a reset recorded.
const stateResetOutcome = "found at state reset"

// ResetState writes a new state rebuilt from the containers' labels:
// every app with a container archy made, that container as its only
// generation (its image kept for rollbacks), a stopped one kept stopped
// (no surprise start), a declared app's container archy did not make as
// adopted, and the first-create jobs of an app with a container as done
// on its volumes as they are. What the labels cannot say is lost (see
// docs/state.md). force: reset a state that reads well too.
func (n *Node) ResetState(ctx context.Context, cat *catalog.Catalog, force bool) (StateReset, error) {
	var r StateReset
	cur := n.State.Check()
	switch {
	case cur == nil: // reads well
	case errors.Is(cur, os.ErrNotExist):
		r.Was = "state.json was missing"
	default:
		r.Was = cur.Error()
		var derr *state.DamagedError
		if errors.As(cur, &derr) {
			r.Was = "state.json was damaged (" + derr.Reason() + ")"
		}
		var verr *state.VersionError
		if errors.As(cur, &verr) {
			r.Was = fmt.Sprintf("state.json was of an unknown state version (%d)", verr.Version)
		}
	}
	if !force && cur == nil {
		return r, fmt.Errorf("%s reads well: nothing to reset (--force rebuilds it from the containers anyway, forgetting what docs/state.md lists)", n.State.Path())
	}
	obs, err := n.Runtime.Snapshot(ctx)
	if err != nil {
		return r, fmt.Errorf("reading podman state: %w", err)
	}
	if !force && n.State.Missing() && len(archyApps(obs)) == 0 {
		return r, errors.New("there is no state and no container archy made: nothing to reset (a fresh node needs none)")
	}
	st := state.State{Apps: plan.Intent{}, Generations: map[string][]state.Generation{}}
	byName := map[string]plan.Container{}
	for _, c := range obs.Containers {
		byName[c.Name] = c
	}
	now := time.Now().UTC()
	for _, c := range obs.Containers {
		id := c.Labels[plan.LabelApp]
		if !plan.CreatedByArchy(&c, id) || c.Labels[plan.LabelJob] != "" {
			continue
		}
		if strings.HasSuffix(c.Name, "-archy-previous") {
			r.Notes = append(r.Notes, fmt.Sprintf("%s: %s is a container an interrupted upgrade set aside; left as it is (podman rm it once %s serves)", id, c.Name, id))
			continue
		}
		g := state.Generation{N: 1, Time: now, ImageID: c.ImageID, Image: c.Image,
			SpecHash: c.Labels[plan.LabelSpecHash], Spec: c.Labels[plan.LabelSpec],
			Keep: keepRef(id, 1), Outcome: stateResetOutcome}
		if err := n.Runtime.Tag(ctx, g.ImageID, g.Keep); err != nil {
			g.Keep = ""
			r.Notes = append(r.Notes, fmt.Sprintf("%s: could not keep its image (%v)", id, err))
		}
		st.Generations[id] = []state.Generation{g}
		it := plan.AppIntent{}
		line := fmt.Sprintf("%s: %s as generation 1 (%s)", id, c.Name, c.State)
		if c.State != plan.StateRunning {
			it.Stopped = true
			line += ", kept stopped: archy start " + id + " runs it again"
		}
		if app := cat.Apps[id]; app != nil {
			if it.Jobs, err = firstCreateJobsDone(ctx, n.Runtime, app); err != nil {
				return r, err
			}
		} else {
			line += "; not declared now (apply --prune removes it)"
		}
		st.Apps[id] = it
		r.Kept = append(r.Kept, line)
	}
	for _, app := range cat.List() {
		if _, ok := st.Apps[app.ID]; ok {
			continue
		}
		c, ok := byName[app.ContainerName]
		switch {
		case ok && !plan.CreatedByArchy(&c, app.ID):
			jobs, err := firstCreateJobsDone(ctx, n.Runtime, app)
			if err != nil {
				return r, err
			}
			st.Apps[app.ID] = plan.AppIntent{Adopted: true, Jobs: jobs}
			r.Kept = append(r.Kept, fmt.Sprintf("%s: %s, adopted (archy did not make it)", app.ID, app.ContainerName))
		case !ok:
			r.Notes = append(r.Notes, fmt.Sprintf("%s: no container; the next apply creates it (if you had removed it with archy rm, run that again first)", app.ID))
		}
	}
	slices.Sort(r.Kept)
	slices.Sort(r.Notes)
	if cur != nil && !errors.Is(cur, os.ErrNotExist) {
		r.SetAside = state.DamagedName
	}
	if err := n.State.Save(st); err != nil {
		return r, err
	}
	return r, nil
}

// firstCreateJobsDone records app's first-create jobs as run on its
// volumes as they are: a reset must not run an init job again on data it
// already set up.
func firstCreateJobsDone(ctx context.Context, rt Runtime, app *schema.App) (map[string]plan.JobRecord, error) {
	var jobs map[string]plan.JobRecord
	for _, j := range app.Jobs {
		if j.When != schema.JobFirstCreate {
			continue
		}
		key, err := VolumesKey(ctx, rt, app)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", app.ID, err)
		}
		if jobs == nil {
			jobs = map[string]plan.JobRecord{}
		}
		jobs[j.Name] = plan.JobRecord{Volumes: key}
	}
	return jobs, nil
}

// StateResetLost is what a state reset cannot rebuild from the
// containers, for its report and docs/state.md.
var StateResetLost = []string{
	"why a container is stopped (archy stop, or a death behind archy's back): each is kept stopped until archy start",
	"which apps were removed with archy rm: the next apply creates them again",
	"older generations (archy history, archy rollback): each app starts again at generation 1, its current container",
	"holds of failed upgrades: the next apply tries such an upgrade again",
	"the hash of the secret values each container was given: a secret changed since is noticed at the next recreate",
	"a replacement in flight, failed job runs, unclean-stop notes",
	"which images archy pulled or built: archy removes only its dangling builds among them once unused (archy prune --images)",
}
