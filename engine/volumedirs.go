package engine

import (
	"context"
	"fmt"
	"os"
	"syscall"

	"archy.dev/archy/plan"
	"archy.dev/archy/schema"
)

// volumeDirs finds the existing directories of app's volumes that declare
// an owner or mode, for the plan to report those that differ. A volume not
// there yet (or not readable) is left out: it is created as declared. It
// asks the runtime only about volumes that declare one.
func (n *Node) volumeDirs(ctx context.Context, app *schema.App) []plan.Dir {
	var out []plan.Dir
	for i, v := range app.Volumes {
		if v.Owner == "" && v.Mode == "" {
			continue
		}
		path := v.HostPath
		if v.Name != "" {
			mp, err := n.Runtime.VolumeMountpoint(ctx, v.Name)
			if err != nil || mp == "" {
				continue
			}
			path = mp
		}
		fi, err := os.Stat(path)
		if err != nil {
			continue
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			continue
		}
		out = append(out, plan.Dir{Volume: i, Owner: fmt.Sprintf("%d:%d", st.Uid, st.Gid), Mode: fmt.Sprintf("%04o", fi.Mode().Perm())})
	}
	return out
}
