package catalog

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"archy.dev/archy/schema"
)

// These checks find spec errors that Podman or the runtime would report
// only at create or start: by then an upgrade has stopped the healthy
// container (issue 14, item 7).

// runtimeDirs are the container paths the runtime mounts itself: a mount
// at or below them fails in runc (/dev only itself: a device or /dev/shm
// below it is fine).
var runtimeDirs = []struct {
	dir   string
	below bool
}{{"/proc", true}, {"/sys", true}, {"/dev", false}}

// checkMounts checks the targets of one container's mounts (the app's,
// or a job's at prefix "jobs[i]."): none where the runtime mounts, and
// none twice, compared cleaned (/data and /data/ are one mount point).
func (l *loader) checkMounts(app *schema.App, prefix string, volumes []schema.Volume, tmpfs []schema.Tmpfs, secrets []schema.Secret) {
	taken := map[string]bool{}
	mount := func(p, target string) bool {
		clean := path.Clean(target)
		if msg := runtimeTarget(clean); msg != "" {
			l.errorf(app, p, "%s %s", written(target, clean), msg)
			return true
		}
		if taken[clean] {
			return false
		}
		taken[clean] = true
		return true
	}
	for i, v := range volumes {
		p := fmt.Sprintf("%svolumes[%d].target", prefix, i)
		if !mount(p, v.Target) {
			l.errorf(app, p, "two volumes are mounted at %s", written(v.Target, path.Clean(v.Target)))
		}
	}
	for i, t := range tmpfs {
		p := fmt.Sprintf("%stmpfs[%d].target", prefix, i)
		if !mount(p, t.Target) {
			l.errorf(app, p, "%s is mounted twice (a volume or another tmpfs)", written(t.Target, path.Clean(t.Target)))
		}
	}
	for i, s := range secrets {
		if s.Env != "" {
			continue
		}
		target, p := s.Target, fmt.Sprintf("%ssecrets[%d].target", prefix, i)
		if target == "" {
			target, p = "/run/secrets/"+s.Name, fmt.Sprintf("%ssecrets[%d]", prefix, i)
		}
		if !mount(p, target) {
			l.errorf(app, p, "secret %q is mounted at %s, where another mount is", s.Name, written(target, path.Clean(target)))
		}
	}
}

// runtimeTarget says why a cleaned target cannot be mounted, or "".
func runtimeTarget(target string) string {
	if target == "/" {
		return "is the container's root file system; mount at a directory below it"
	}
	for _, d := range runtimeDirs {
		switch {
		case target == d.dir:
			return fmt.Sprintf("is where the container runtime mounts the container's %s; mount elsewhere", d.dir)
		case d.below && strings.HasPrefix(target, d.dir+"/"):
			return fmt.Sprintf("is inside %s, which the container runtime mounts for the container; mount elsewhere", d.dir)
		}
	}
	return ""
}

// written shows a target as cleaned, and as written when that differs.
func written(target, clean string) string {
	if target == clean {
		return target
	}
	return fmt.Sprintf("%s (written %s)", clean, target)
}

// checkValues checks what Podman would refuse at create: sizes too large
// for it, and NUL bytes, which no environment variable or argument can
// hold (the kernel's strings end at the first).
func (l *loader) checkValues(app *schema.App) {
	l.checkSize(app, "resources.memory_limit", app.Resources.MemoryLimit)
	for i, t := range app.Tmpfs {
		l.checkSize(app, fmt.Sprintf("tmpfs[%d].size", i), t.Size)
	}
	l.checkContainerValues(app, "", app.Volumes, app.Environment, app.Command, app.Entrypoint)
	for i, j := range app.Jobs {
		l.checkContainerValues(app, fmt.Sprintf("jobs[%d].", i), j.Volumes, j.Env, j.Command, j.Entrypoint)
	}
}

func (l *loader) checkContainerValues(app *schema.App, prefix string, volumes []schema.Volume, env map[string]string, command, entrypoint []string) {
	for i, v := range volumes {
		l.checkSize(app, fmt.Sprintf("%svolumes[%d].min_free", prefix, i), v.MinFree)
	}
	keys := slices.Sorted(maps.Keys(env))
	for _, k := range keys {
		if strings.ContainsRune(k, 0) {
			l.errorf(app, prefix+envField(prefix), "variable %q has a NUL byte in its name, which no environment variable can hold", k)
		} else if strings.ContainsRune(env[k], 0) {
			l.errorf(app, prefix+envField(prefix)+"."+k, "the value of %s has a NUL byte, which no environment variable can hold", k)
		}
	}
	for _, list := range []struct {
		name string
		args []string
	}{{"entrypoint", entrypoint}, {"command", command}} {
		for i, a := range list.args {
			if strings.ContainsRune(a, 0) {
				l.errorf(app, fmt.Sprintf("%s%s[%d]", prefix, list.name, i), "this argument has a NUL byte, which no argument can hold")
			}
		}
	}
}

// envField is the environment's field: a job's is env.
func envField(prefix string) string {
	if prefix == "" {
		return "environment"
	}
	return "env"
}

func (l *loader) checkSize(app *schema.App, path, size string) {
	if size == "" {
		return
	}
	if _, err := schema.ParseSize(size); err != nil {
		l.errorf(app, path, "%v", err)
	}
}
