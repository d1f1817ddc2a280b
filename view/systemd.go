package view

import (
	"fmt"
	"io"
	"strings"
	"time"

	"archy.dev/archy/engine"
)

// NodeUnit writes archy-node.service, the systemd unit that stops the
// node in dependency order at host shutdown (archy stop --all) and starts
// it again at boot, with TimeoutStopSec set to total: StopAll's worst
// case for the apps whose stop levels are given (engine.StopAllTimeout).
// archy export systemd prints it; packaging/ ships it for apps/.
func NodeUnit(w io.Writer, levels []engine.StopLevel, total time.Duration) {
	var b strings.Builder
	b.WriteString(`# archy-node.service: at host shutdown, archy stop --all stops the node's
# apps in reverse dependency order (each with its own stop signal and
# timeout); at boot, archy start --all starts again what it stopped.
# Made by "archy export systemd" from the apps: run it again when they
# change, since TimeoutStopSec comes from their stop timeouts
# (docs/shutdown.md).
#
# TimeoutStopSec is how long archy stop --all may take at worst: its
# levels run one after another, each as long as its slowest app's stop
# timeout, plus a margin:
`)
	for i, l := range levels {
		fmt.Fprintf(&b, "#   %d. %s: %s (%s)\n", i+1, strings.Join(l.Apps, ", "), l.Timeout, l.Slowest)
	}
	fmt.Fprintf(&b, "#   margin: %s\n#   total: %s\n", engine.StopAllMargin, total)
	fmt.Fprintf(&b, `#
# Install: see packaging/README.md.
[Unit]
Description=archy: stop the node's apps in dependency order at shutdown
Documentation=file:///usr/share/doc/archy/shutdown.md
# Units stop in the reverse order of their start. After the daemon: this
# one stops first, while the daemon runs; archy stop --all goes through
# it and marks each app stopped, so the daemon leaves them stopped. After
# Podman's service and socket: archy needs them to stop the apps.
Wants=podman.socket
After=podman.socket podman.service archy.service network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
Environment=ARCHY_APPS=/etc/archy/apps
Environment=CONTAINER_HOST=unix:///run/podman/podman.sock
Environment=ARCHY_DATA_DIR=/var/lib/archy
Environment=ARCHY_SOCKET=/run/archy/archy.sock
EnvironmentFile=-/etc/archy/archy.env
# "-" and no start timeout: a failed or timed-out start would leave the
# unit failed, and a failed unit's ExecStop never runs: the shutdown
# would then kill the apps. archy start --all ends on its own (each
# dependency wait is bounded).
ExecStart=-/usr/local/bin/archy start --all
TimeoutStartSec=infinity
ExecStop=/usr/local/bin/archy stop --all
TimeoutStopSec=%d

[Install]
WantedBy=multi-user.target
`, int(total.Seconds()))
	io.WriteString(w, b.String())
}
