// Package volsnap owns volume snapshots (upgrade.snapshot_volumes): a tar
// archive per writable named volume of an app, read from and written to
// the volume's mountpoint on the host while the app's container is
// stopped, and restored only once the whole archive has been checked.
// It decides nothing: the engine says when to snapshot and when to
// restore. It must not import engine; it asks the runtime only where a
// volume lives (Volumes), and recognises a missing volume by
// internal/notfound.
package volsnap
