package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"archy.dev/archy/catalog"
	"archy.dev/archy/engine"
	"archy.dev/archy/engine/secrets"
)

// setCatalog installs a good catalogue.
// It returns the ids of the apps it adds and of those no longer declared.
func (d *Daemon) setCatalog(cat *catalog.Catalog) (added, removed []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id := range d.apps {
		if _, ok := cat.Apps[id]; !ok { // no longer declared
			d.metrics.forget(id)
			delete(d.apps, id)
			removed = append(removed, id)
		}
	}
	d.cat = cat
	d.configErr = ""
	d.byName = map[string]string{}
	for id, app := range cat.Apps {
		d.byName[app.ContainerName] = id
		if d.apps[id] == nil {
			d.apps[id] = &appState{}
			added = append(added, id)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}

// Reload re-reads the apps (and the secrets file) now, whether or not
// their files look changed, and asks for a full reconcile without waiting
// for it: what SIGHUP does (systemctl reload). An invalid edit keeps the
// last good apps, as on any reload, and is reported again even if it is
// the one already rejected: the operator asked.
func (d *Daemon) Reload() {
	d.reloadFiles(true)
	d.enqueueFull()
}

// reload re-reads the apps when their files changed.
func (d *Daemon) reload() { d.reloadFiles(false) }

// reloadFiles re-reads the apps; an invalid edit keeps the last good ones
// and is reported (once, unless forced), touching nothing.
func (d *Daemon) reloadFiles(force bool) {
	// Evaluating CUE is the daemon's costliest work: skip it while no app
	// file (nor the secrets file) changed.
	stamp := filesStamp(d.cfg.Apps, d.cfg.SecretsFile)
	d.mu.Lock()
	same := stamp != "" && stamp == d.stamp
	d.mu.Unlock()
	if same && !force {
		return
	}
	cat, err := catalog.Load(d.cfg.Apps, d.cfg.Catalog)
	if err != nil {
		d.mu.Lock()
		changed := force || d.configErr != err.Error()
		d.configErr = err.Error()
		// The rejected files are evaluated once; when they go back to the
		// last good ones, the stamp changes again and clears the error.
		d.stamp = stamp
		d.mu.Unlock()
		if changed {
			d.log.Error("apps rejected; keeping the last good ones", "err", err)
			d.publish(engine.Event{Type: engine.EventConfig, Message: "apps rejected; keeping the last good ones: " + err.Error()})
		}
		return
	}
	// Secret values may have changed too: a changed value recreates its
	// consumers on this reconcile.
	if sec, err := secrets.New(d.cfg.DataDir, d.cfg.SecretsFile); err != nil {
		d.log.Error("secrets file rejected; keeping the last good values", "err", err)
	} else {
		d.mu.Lock()
		if d.node != nil {
			d.node = &engine.Node{Runtime: d.node.Runtime, State: d.node.State, Secrets: sec}
		}
		d.mu.Unlock()
	}
	d.mu.Lock()
	hadErr := d.configErr != ""
	d.stamp = stamp
	d.mu.Unlock()
	added, removed := d.setCatalog(cat)
	if hadErr {
		d.publish(engine.Event{Type: engine.EventConfig, Message: "apps valid again"})
	}
	// Readers of the status (the status page) learn of new and removed
	// apps from this event: no other event names them.
	if len(added)+len(removed) > 0 {
		var parts []string
		if len(added) > 0 {
			parts = append(parts, "added "+strings.Join(added, ", "))
		}
		if len(removed) > 0 {
			parts = append(parts, "no longer declared "+strings.Join(removed, ", "))
		}
		d.publish(engine.Event{Type: engine.EventConfig, Message: "apps reloaded: " + strings.Join(parts, "; ")})
	}
}

// filesStamp identifies the state of the .cue files of dir and of the
// secrets file by name, size and modification time ("" if unreadable).
func filesStamp(dir, secretsFile string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	var b strings.Builder
	add := func(path string) {
		if fi, err := os.Stat(path); err == nil {
			fmt.Fprintf(&b, "%s %d %d\n", path, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".cue") {
			add(filepath.Join(dir, e.Name()))
		}
	}
	if secretsFile != "" {
		add(secretsFile)
	}
	return b.String()
}
