package catalog

import (
	"fmt"
	"path/filepath"
	"strings"

	"archy.dev/archy/internal/buildctx"
	"archy.dev/archy/schema"
)

// HostVolumesDir is the subdirectory of the data dir that host-path
// volumes may live in. The rest of the data dir is archy's own: the state
// (generations, stop flags), the secrets key behind the hashes in it, the
// lock, the status page's token, volume snapshots and job logs. A
// container that could read the key could test guesses of a secret
// against the state, so no part of it is mountable.
const HostVolumesDir = "volumes"

// OwnPath is a file of archy's outside the data dir that no host-path
// volume may expose, itself or through a directory that holds it.
type OwnPath struct {
	Path string
	What string // for messages: "archy's secrets file", "the Podman socket"
}

// hostPathRoots are the directories host paths must be below: the data
// dir's HostVolumesDir and those the operator allowed.
func (l *loader) hostPathRoots() []string {
	roots := l.opts.HostPathRoots
	if l.opts.DataDir != "" {
		roots = append([]string{filepath.Join(l.opts.DataDir, HostVolumesDir)}, roots...)
	}
	return roots
}

// checkHostPath checks a host-path volume at path: written clean, not
// exposing archy's own files once its symlinks are resolved (a link into
// the data dir is refused as the data dir is), and below an allowed root.
func (l *loader) checkHostPath(app *schema.App, path, hostPath string) {
	if filepath.Clean(hostPath) != hostPath {
		l.errorf(app, path, "host path %s is not clean; write %s", hostPath, filepath.Clean(hostPath))
		return
	}
	real := resolveExisting(hostPath)
	shown := hostPath
	if real != hostPath {
		shown = fmt.Sprintf("%s (a link to %s)", hostPath, real)
	}
	roots := l.hostPathRoots()
	if what := l.exposes(real); what != "" {
		where := "below --allow-host-path"
		if l.opts.DataDir != "" {
			where = "in " + filepath.Join(l.opts.DataDir, HostVolumesDir) + "/ or " + where
		}
		l.errorf(app, path, "host path %s %s, which no container may mount; host paths live %s", shown, what, where)
		return
	}
	if isRoot(real, roots) {
		l.errorf(app, path, "host path %s is an allowed root itself; mount a directory below it", hostPath)
		return
	}
	if !strictlyUnderAny(real, roots) {
		l.errorf(app, path, "host path %s is not below an allowed root (%s); use a named volume or pass --allow-host-path",
			shown, strings.Join(roots, ", "))
	}
}

// exposes names the file of archy's that a mount of real (a resolved
// path) would expose, or returns "".
func (l *loader) exposes(real string) string {
	if d := l.opts.DataDir; d != "" {
		dir := resolveExisting(d)
		// The volumes subdirectory as written below the resolved data dir:
		// a link there that points back into the data dir is not it.
		volumes := filepath.Join(dir, HostVolumesDir)
		switch {
		case real == dir:
			return "is archy's data dir"
		case buildctx.Under(dir, real):
			return fmt.Sprintf("holds archy's data dir %s", d)
		case buildctx.Under(real, volumes):
			// Below it (volumes itself is an allowed root, refused as such).
		case buildctx.Under(real, dir):
			return fmt.Sprintf("is inside archy's data dir %s", d)
		}
	}
	for _, own := range l.opts.OwnPaths {
		if own.Path == "" {
			continue
		}
		p := resolveExisting(own.Path)
		switch {
		case real == p:
			return "is " + own.What
		case buildctx.Under(p, real):
			return fmt.Sprintf("holds %s %s", own.What, own.Path)
		case buildctx.Under(real, p):
			return fmt.Sprintf("is inside %s %s", own.What, own.Path)
		}
	}
	return ""
}
