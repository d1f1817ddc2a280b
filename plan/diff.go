package plan

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"archy.dev/archy/graph"
	"archy.dev/archy/schema"
)

// Action is one thing archy does to an app.
type Action string

const (
	Adopt    Action = "adopt"    // record a container archy did not create
	Build    Action = "build"    // build the image from its context
	Pull     Action = "pull"     // pull the image
	Create   Action = "create"   // create the missing container
	Recreate Action = "recreate" // remove and create again; volumes kept
	Start    Action = "start"
	Stop     Action = "stop"
	Remove   Action = "remove" // remove an undeclared archy container (--prune)
	RunJobs  Action = "jobs"   // run due jobs of a container that otherwise stays as it is
)

// Labels beyond the hashes: the spec itself, so a later plan can name the
// fields that changed.
const LabelSpec = "archy.spec"

// Desired is one app as archy wants it, with what plan cannot work out
// itself because it needs the file system or secret values.
type Desired struct {
	App         *schema.App
	ContextHash string // build sources: hash of Dockerfile, context, build args
	SecretsHash string // keyed hash of the secret values; "" when none
	// Blocked says why the app cannot be brought up for a reason plan
	// cannot see itself (a secret that is nowhere to be had): its step
	// is blocked and its dependents are skipped.
	Blocked string
	// Dirs are the existing directories of the volumes that declare an
	// owner or mode, as found on the host.
	Dirs []Dir
	// Volumes identifies the named volumes of the app and its jobs as
	// they exist (name and creation time; see JobVolumesKey): first-create
	// jobs run once per volume set.
	Volumes string
}

// Dir is the top directory of an existing volume (named or host path).
type Dir struct {
	Volume int    // index in the app's volumes
	Owner  string // "UID:GID"
	Mode   string // octal, "0750"
}

// Input is everything a plan is made from.
type Input struct {
	Desired  []Desired
	Observed Observed
	Intent   Intent
	Prune    bool            // remove archy containers of undeclared apps
	Upgrade  map[string]bool // recreate these apps even when adopted or unchanged
}

// Step is what happens to one app. No actions means no change.
type Step struct {
	App       string   `json:"app"`
	Container string   `json:"container"`
	Level     int      `json:"level"` // 1-based; 0 for removals
	Actions   []Action `json:"actions"`
	Reasons   []string `json:"reasons"`
	// Blocked says why the app cannot be brought up; it has no actions.
	Blocked string `json:"blocked,omitempty"`
	// Notes are facts that change nothing (an adopted container that
	// differs from its spec, say).
	Notes []string `json:"notes,omitempty"`
	// Refresh marks a pull that pull_policy always or newer asks for on
	// every apply: alone it is not a change (the image may well be the
	// same), so a converged node still plans "no changes".
	Refresh bool `json:"refresh,omitempty"`
	// Seen is the container as the plan saw it (see Seen); the daemon,
	// which plans without holding the app's lock, skips a step whose
	// container changed before it got the lock. Target is the step's
	// TargetKey (none for archy upgrade, which overrides a hold): a step
	// whose target was held meanwhile is skipped too.
	Seen   string `json:"-"`
	Target string `json:"-"`
	// Jobs are the app's jobs this step runs (see DueJobs), by name.
	Jobs []string `json:"jobs,omitempty"`
}

// Seen identifies a container's id and state ("" for none): what a step
// was planned from.
func Seen(c *Container) string {
	if c == nil {
		return ""
	}
	state := c.State
	if state == StateStopped { // not yet cleaned up: exited all the same
		state = StateExited
	}
	// The start time tells a container that was set aside and put back
	// (an upgrade rolled back) from the one the plan saw: same id, same
	// state. Seconds: the list Podman gives has no more.
	return fmt.Sprintf("%s %s %d", c.ID, state, c.StartedAt.Unix())
}

// Changes reports whether the step changes something.
func (s Step) Changes() bool {
	return len(s.Actions) > 0 && !(s.Refresh && len(s.Actions) == 1 && s.Actions[0] == Pull)
}

// Has reports whether the step includes action a.
func (s Step) Has(a Action) bool {
	for _, x := range s.Actions {
		if x == a {
			return true
		}
	}
	return false
}

// Plan is the ordered steps for every app.
type Plan struct {
	Steps []Step `json:"steps"`
	// RemoveNetworks are archy's own app networks that no declared app
	// joins and no container that stays is attached to (--prune only).
	RemoveNetworks []string `json:"remove_networks,omitempty"`
	// Fingerprint identifies the live state and inputs the plan was made
	// from: a saved plan is refused once it no longer matches.
	Fingerprint string `json:"fingerprint"`
}

// Changes counts the steps that change something, and the networks to
// remove.
func (p Plan) Changes() int {
	n := len(p.RemoveNetworks)
	for _, s := range p.Steps {
		if s.Changes() {
			n++
		}
	}
	return n
}

// Blocked reports whether some app cannot be brought up.
func (p Plan) Blocked() bool {
	for _, s := range p.Steps {
		if s.Blocked != "" {
			return true
		}
	}
	return false
}

// Busy reports whether applying the plan does anything at all: changes,
// refresh pulls, or blocked apps to report.
func (p Plan) Busy() bool {
	if len(p.RemoveNetworks) > 0 {
		return true
	}
	for _, s := range p.Steps {
		if len(s.Actions) > 0 || s.Blocked != "" {
			return true
		}
	}
	return false
}

// Count returns how many steps include each action.
func (p Plan) Count() map[Action]int {
	m := map[Action]int{}
	for _, s := range p.Steps {
		for _, a := range s.Actions {
			m[a]++
		}
	}
	return m
}

// Diff compares the desired apps with the observed state and the
// operator's intent and returns the steps, in dependency order. It is
// pure: the same input always gives the same plan.
func Diff(in Input) (Plan, error) {
	apps := map[string]Desired{}
	var list []*schema.App
	for _, d := range in.Desired {
		apps[d.App.ID] = d
		list = append(list, d.App)
	}
	levels, err := graph.Levels(graph.DependencyGraph(list))
	if err != nil {
		return Plan{}, err
	}
	containers := map[string]*Container{}
	for i := range in.Observed.Containers {
		c := &in.Observed.Containers[i]
		containers[c.Name] = c
	}
	images := in.Observed.imagesByRef()

	var p Plan
	for i, level := range levels {
		for _, id := range level {
			d := apps[id]
			s := diffApp(d, containers[d.App.ContainerName], images, in.Intent[id], in.Upgrade[id])
			if note := SetAsideNote(d.App, containers[d.App.ContainerName+schema.KeptSuffix]); note != "" {
				s.Notes = append(s.Notes, note)
			}
			s.Level = i + 1
			p.Steps = append(p.Steps, s)
		}
	}
	noteBlockedDependencies(p.Steps, apps)
	p.Steps = append(p.Steps, orphans(in, apps)...)
	if in.Prune {
		p.RemoveNetworks = unusedNetworks(in, p.Steps)
	}
	p.Fingerprint = fingerprint(in)
	return p, nil
}

// noteBlockedDependencies notes on each step that has something to do
// but waits, directly or not, on a blocked app: apply skips it. steps are
// in dependency order.
func noteBlockedDependencies(steps []Step, apps map[string]Desired) {
	via := map[string]string{} // app -> the blocked app it waits on
	for _, s := range steps {
		if s.Blocked != "" {
			via[s.App] = s.App
		}
	}
	for i, s := range steps {
		if s.Blocked != "" {
			continue
		}
		for _, dep := range apps[s.App].App.Dependencies {
			if b := via[dep.AppID]; b != "" {
				via[s.App] = b
				if len(s.Actions) > 0 {
					steps[i].Notes = append(steps[i].Notes, "skipped while dependency "+b+" is blocked")
				}
				break
			}
		}
	}
}

// diffApp decides one app's actions.
func diffApp(d Desired, c *Container, images map[string]*Image, intent AppIntent, upgrade bool) Step {
	app := d.App
	s := Step{App: app.ID, Container: app.ContainerName, Actions: []Action{}, Reasons: []string{}, Seen: SeenAs(c, intent)}
	add := func(a Action, reason string) {
		if !s.Has(a) {
			s.Actions = append(s.Actions, a)
		}
		if reason != "" {
			s.Reasons = append(s.Reasons, reason)
		}
	}

	if intent.Removed {
		if c != nil && CreatedByArchy(c, app.ID) {
			s.Actions = append(s.Actions, Remove)
			s.Reasons = append(s.Reasons, "removed by the operator (archy rm)")
		} else {
			s.Notes = append(s.Notes, "removed by the operator: archy start "+app.ID+" brings it back")
		}
		return s
	}
	if d.Blocked != "" {
		s.Blocked = d.Blocked
		return s
	}

	// The image.
	src := app.Container.Source
	ref := NormalizeRef(src.ImageRef())
	img := images[ref]
	if !upgrade { // archy upgrade tries a held target again
		s.Target = TargetKey(d, img)
	}
	rebuilt := false
	switch src.Type {
	case schema.SourceBuild:
		switch {
		case img == nil:
			add(Build, "image "+src.Tag+" missing")
		case img.Labels[LabelContextHash] != d.ContextHash:
			add(Build, "build context changed")
		case src.AlwaysRebuild:
			add(Build, "always_rebuild is set")
		case upgrade:
			add(Build, "upgrade requested")
		}
		rebuilt = s.Has(Build) && img != nil
	case schema.SourcePull:
		switch {
		case upgrade:
			add(Pull, "upgrade: pull the newest image for the tag")
		case src.PullPolicy == "always" || src.PullPolicy == "newer":
			add(Pull, "pull_policy is "+src.PullPolicy)
			s.Refresh = c != nil
		case img != nil:
		case src.PullPolicy == "never":
			s.Blocked = "image " + src.Image + " is missing and pull_policy is never"
			s.Actions = []Action{}
			return s
		default:
			add(Pull, "image "+src.Image+" missing")
		}
	}

	// The container.
	keptStopped := intent.KeptStopped()
	why := "archy stop"
	if intent.DiskLow != "" {
		why = "low disk space: " + intent.DiskLow
	}
	switch {
	case c == nil:
		add(Create, "container missing")
	case !CreatedByArchy(c, app.ID) && !upgrade:
		// Not made by archy: adopt it, never recreate it implicitly.
		switch made := c.Labels[LabelApp]; {
		case intent.Adopted:
		case made != "" && c.Labels[LabelSpecHash] != "":
			add(Adopt, "container "+c.Name+" was created by archy for app "+made)
		default:
			add(Adopt, "container "+c.Name+" exists but was not created by archy")
		}
		switch {
		case c.Image != "" && NormalizeRef(c.Image) != ref:
			s.Notes = append(s.Notes, fmt.Sprintf("runs %s, not %s: archy upgrade %s recreates it", c.Image, ref, app.ID))
		case img != nil && c.ImageID != "" && c.ImageID != img.ID:
			s.Notes = append(s.Notes, fmt.Sprintf("runs an older image of %s: archy upgrade %s recreates it", ref, app.ID))
		}
		if have, want := portList(c.Ports), portList(publishedPorts(app)); have != want {
			s.Notes = append(s.Notes, fmt.Sprintf("publishes %s, not %s: archy upgrade %s recreates it", have, want, app.ID))
		}
	default:
		r := recreateReasons(d, c, img, rebuilt, intent, upgrade)
		switch {
		case len(r) == 0:
		case !upgrade && intent.Held != "" && intent.Held == TargetKey(d, img):
			s.Notes = append(s.Notes, fmt.Sprintf("held at the running generation: %s (archy upgrade %s tries again)", intent.HeldWhy, app.ID))
		default:
			add(Recreate, "")
			s.Reasons = append(s.Reasons, r...)
		}
	}

	s.Notes = append(s.Notes, dirNotes(d)...)

	// Running or not.
	creating := s.Has(Create) || s.Has(Recreate)
	heldStopped := !creating && !upgrade && intent.HeldStopped && intent.Held != "" && intent.Held == TargetKey(d, img)
	switch {
	case creating && !keptStopped:
		add(Start, "")
	case creating:
		s.Notes = append(s.Notes, "stays stopped ("+why+")")
	case c.State == StateRunning && intent.Stopped:
		add(Stop, "stopped by the operator (archy stop)")
	case c.State == StateRunning && keptStopped:
		add(Stop, "stopped for low disk space: "+intent.DiskLow)
	case heldStopped:
		// Left as it is: not started (a failing version on migrated
		// data), nor stopped if the operator started it by hand.
		s.Notes = append(s.Notes, fmt.Sprintf("held: %s (archy upgrade %s tries again)", intent.HeldWhy, app.ID))
	case c.State != StateRunning && !keptStopped:
		add(Start, stateReason(c))
	case intent.DiskLow != "":
		s.Notes = append(s.Notes, "stays stopped ("+why+")")
	}

	// Jobs, only for a container that runs after the step.
	if len(app.Jobs) > 0 && !keptStopped && !heldStopped && (s.Has(Start) || (c != nil && c.State == StateRunning && !s.Has(Stop))) {
		for _, j := range DueJobs(d, intent, s.Actions) {
			s.Jobs = append(s.Jobs, j.Name)
			s.Reasons = append(s.Reasons, "job "+j.Name+" ("+j.When+")")
		}
		if len(s.Jobs) > 0 && !s.Has(Start) {
			add(RunJobs, "")
		}
	}
	return s
}

// dirNotes reports existing volumes whose owner or mode is not the
// declared one: they shape first creation only, and archy does not chown
// data that is already there.
func dirNotes(d Desired) []string {
	var out []string
	for _, dir := range d.Dirs {
		v := d.App.Volumes[dir.Volume]
		what := v.Name
		if what == "" {
			what = v.HostPath
		}
		var diffs []string
		if v.Owner != "" && v.Owner != dir.Owner {
			diffs = append(diffs, fmt.Sprintf("owned by %s, not %s", dir.Owner, v.Owner))
		}
		if want, err := strconv.ParseUint(v.Mode, 8, 32); v.Mode != "" && err == nil && fmt.Sprintf("%04o", want) != dir.Mode {
			diffs = append(diffs, fmt.Sprintf("mode %s, not %04o", dir.Mode, want))
		}
		if len(diffs) > 0 {
			out = append(out, fmt.Sprintf("volume %s is %s: archy sets them on creation only; change existing data by hand (docs/volumes.md)", what, strings.Join(diffs, ", ")))
		}
	}
	return out
}

// publishedPorts are the ports the app's spec publishes on the host.
func publishedPorts(app *schema.App) []Port {
	var out []Port
	if app.Security.NetworkPolicy != schema.NetworkBridge {
		return nil
	}
	for _, p := range app.Ports {
		if p.Host != 0 {
			out = append(out, Port{HostIP: p.HostIP, Host: p.Host, Container: p.Container, Protocol: p.Protocol})
		}
	}
	return out
}

// portList renders ports in a stable order, "none" for none.
func portList(ports []Port) string {
	if len(ports) == 0 {
		return "none"
	}
	ss := make([]string, len(ports))
	for i, p := range ports {
		ss[i] = p.String()
	}
	sort.Strings(ss)
	return strings.Join(ss, ", ")
}

// CreatedByArchy tells archy's containers from others. Only archy puts the
// spec hash on a container; archy.app alone proves nothing, since a
// container inherits the labels of its image and archy labels what it
// builds.
func CreatedByArchy(c *Container, app string) bool {
	return c.Labels[LabelSpecHash] != "" && c.Labels[LabelApp] == app
}

// recreateReasons says why a container archy made must be made again.
func recreateReasons(d Desired, c *Container, img *Image, rebuilt bool, intent AppIntent, upgrade bool) []string {
	var r []string
	switch old := c.Labels[LabelSpecHash]; {
	case old == "" && upgrade:
		r = append(r, "upgrade requested (the container was not created by archy)")
	case old != SpecHash(d.App):
		r = append(r, specChanges(c.Labels[LabelSpec], SpecJSON(d.App))...)
	}
	switch {
	case rebuilt:
		r = append(r, "image is rebuilt")
	case img != nil && c.ImageID != "" && c.ImageID != img.ID:
		r = append(r, "image "+d.App.Container.Source.ImageRef()+" now points to a new image")
	}
	if d.SecretsHash != intent.SecretsHash && intent.SecretsHash != "" {
		r = append(r, "secret values changed")
	}
	if upgrade && len(r) == 0 {
		r = append(r, "upgrade requested")
	}
	return r
}

// imagesByRef indexes the images by each of their normalised references.
func (o Observed) imagesByRef() map[string]*Image {
	images := map[string]*Image{}
	for i := range o.Images {
		img := &o.Images[i]
		for _, t := range img.Tags {
			images[NormalizeRef(t)] = img
		}
	}
	return images
}

// Image is the image ref names (nil if none).
func (o Observed) Image(ref string) *Image {
	return o.imagesByRef()[NormalizeRef(ref)]
}

// SeenAs is Seen plus the operator's stop and removal a plan went by: an
// archy stop of an exited container changes nothing Podman shows.
func SeenAs(c *Container, intent AppIntent) string {
	seen := fmt.Sprintf("%s stopped=%t removed=%t", Seen(c), intent.Stopped, intent.Removed)
	if intent.DiskLow != "" { // only then, so that plans saved before it still match
		seen += " disk_low=true"
	}
	return seen
}

// TargetKey names what an app's container would be made from: its spec,
// and its build context or the image its reference points to now. A
// failed upgrade holds its target (AppIntent.Held) until it changes.
func TargetKey(d Desired, img *Image) string {
	from := d.ContextHash
	if d.App.Container.Source.Type != schema.SourceBuild {
		from = ""
		if img != nil {
			from = img.ID
		}
	}
	return SpecHash(d.App) + " " + from
}

// stateReason describes why a container is not running.
func stateReason(c *Container) string {
	switch {
	case c.OOMKilled:
		return fmt.Sprintf("killed out of memory (exit %d)", c.ExitCode)
	case c.State == StateExited || c.State == StateStopped:
		return fmt.Sprintf("%s (%d)", c.State, c.ExitCode)
	}
	return c.State
}

// orphans are containers archy created for apps no longer declared (or for
// an app whose container is now named otherwise): removed only with Prune,
// and only those carrying archy's label. A container whose name a declared
// app declares now is that app's (adopted, if another app made it): its
// label names the app that created it, not the one that owns it.
func orphans(in Input, apps map[string]Desired) []Step {
	owned := map[string]bool{}
	for _, d := range apps {
		owned[d.App.ContainerName] = true
	}
	var out []Step
	for _, c := range in.Observed.Containers {
		id := c.Labels[LabelApp]
		if id == "" || !CreatedByArchy(&c, id) || strings.HasSuffix(c.Name, schema.KeptSuffix) || owned[c.Name] {
			continue
		}
		if d, declared := apps[id]; declared {
			if d.App.ContainerName != c.Name { // renamed: the old one goes
				out = append(out, Step{App: id, Container: c.Name, Seen: Seen(&c), Actions: []Action{Remove}, Reasons: []string{
					fmt.Sprintf("app %s's container is now named %s", id, d.App.ContainerName)}})
			}
			continue
		}
		s := Step{App: id, Container: c.Name, Seen: Seen(&c), Actions: []Action{}, Reasons: []string{"app " + id + " is no longer declared"}}
		if in.Prune {
			s.Actions = append(s.Actions, Remove)
		} else {
			s.Notes = []string{"archy apply --prune removes it"}
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Container < out[j].Container })
	return out
}

// unusedNetworks are archy's networks that no desired app declares and no
// observed container is attached to, but for those the steps remove.
func unusedNetworks(in Input, steps []Step) []string {
	used := map[string]bool{}
	for _, d := range in.Desired {
		for _, n := range d.App.Networks {
			used[n] = true
		}
	}
	removed := map[string]bool{}
	for _, s := range steps {
		if s.Has(Remove) {
			removed[s.Container] = true
		}
	}
	for _, c := range in.Observed.Containers {
		if removed[c.Name] {
			continue
		}
		for _, n := range c.Networks {
			used[n] = true
		}
	}
	var out []string
	for _, n := range in.Observed.Networks {
		if !used[n] {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// fingerprint hashes what the plan depends on, in a stable order.
func fingerprint(in Input) string {
	var b strings.Builder
	desired := append([]Desired(nil), in.Desired...)
	sort.Slice(desired, func(i, j int) bool { return desired[i].App.ID < desired[j].App.ID })
	for _, d := range desired {
		fmt.Fprintf(&b, "app %s %s %s %s\n", d.App.ID, SpecHash(d.App), d.ContextHash, d.SecretsHash)
		if d.Blocked != "" { // only then, so that the fingerprints of plans saved before it hold
			fmt.Fprintf(&b, "blocked %s %s\n", d.App.ID, d.Blocked)
		}
	}
	cs := append([]Container(nil), in.Observed.Containers...)
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	for _, c := range cs {
		fmt.Fprintf(&b, "ctr %s %s %s %s %s\n", c.Name, c.ID, c.State, c.ImageID, c.Labels[LabelSpecHash])
	}
	var imgs []string
	for _, img := range in.Observed.Images {
		tags := append([]string(nil), img.Tags...)
		sort.Strings(tags)
		imgs = append(imgs, img.ID+" "+strings.Join(tags, ","))
	}
	sort.Strings(imgs)
	for _, i := range imgs {
		fmt.Fprintf(&b, "img %s\n", i)
	}
	ids := make([]string, 0, len(in.Intent))
	for id := range in.Intent {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		it := in.Intent[id]
		fmt.Fprintf(&b, "intent %s %t %t %s\n", id, it.Stopped, it.Adopted, it.SecretsHash)
		if it.DiskLow != "" { // only then, so that the fingerprints of plans saved before it hold
			fmt.Fprintf(&b, "disk-low %s\n", id)
		}
	}
	fmt.Fprintf(&b, "prune %t\n", in.Prune)
	nets := append([]string(nil), in.Observed.Networks...)
	sort.Strings(nets)
	for _, n := range nets { // only with --prune, so earlier fingerprints hold
		fmt.Fprintf(&b, "net %s\n", n)
	}
	return hash(b.String())
}

// SetAsideNote says that container c, named as an upgrade sets the old
// container of app aside, is there: while an upgrade runs, or left by one
// that was interrupted. archy apply removes it once the running container
// is a proved generation, puts it back when the app has no container, and
// otherwise keeps it (it may be the working one). "" when there is none
// (or it is not archy's container of app).
func SetAsideNote(app *schema.App, c *Container) string {
	if c == nil || c.Labels[LabelApp] != app.ID || !CreatedByArchy(c, app.ID) {
		return ""
	}
	return fmt.Sprintf("an upgrade's old container is set aside as %s (%s): archy apply removes it once the running one is proved, or puts it back", c.Name, c.State)
}
