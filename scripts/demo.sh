#!/usr/bin/env bash
# The main job: archy converges the simulated node (testdata/node) on a
# private Podman service, then shows its status. Running it again applies
# nothing. `scripts/demo.sh down` tears everything down.
#
#   ARCHY_DEMO_DIR   where the service, registry, node copy and archy's state live
#                    (default /var/tmp/archy-demo)
#   ARCHY_DEMO_PORT  port base of the node's published ports (default 18000);
#                    the status page is on port base + 80 (default 18080)
#
# Then it leaves `archy converge` running (the daemon, log in DIR/archy.log)
# and prints the address of its status page.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
dir=${ARCHY_DEMO_DIR:-/var/tmp/archy-demo}
port_base=${ARCHY_DEMO_PORT:-18000}

page_port=$((port_base + 80))

stop_daemon() {
	if [[ -f $dir/archy.pid ]] && kill -0 "$(cat "$dir/archy.pid")" 2>/dev/null; then
		kill -INT "$(cat "$dir/archy.pid")"
		for _ in $(seq 50); do
			kill -0 "$(cat "$dir/archy.pid")" 2>/dev/null || break
			sleep 0.2
		done
	fi
	rm -f "$dir/archy.pid"
}

if [[ ${1:-} == down ]]; then
	stop_daemon
	if [[ -d $dir/podman ]]; then
		scripts/podman-env.sh stop "$dir/podman"
	fi
	rm -rf "$dir"
	echo "demo: torn down ($dir)"
	exit 0
fi

./scripts/deps.sh
. ./scripts/goenv.sh

echo "== building archy"
mkdir -p bin
go build -o bin/archy ./cmd/archy
archy=$repo/bin/archy

mkdir -p "$dir"
if [[ -S $dir/podman/podman.sock ]] && eval "$(scripts/podman-env.sh env "$dir/podman" 2>/dev/null)" &&
	podman --remote info >/dev/null 2>&1; then
	echo "== private Podman service already running ($dir/podman)"
else
	echo "== starting a private Podman service and registry ($dir/podman)"
	rm -rf "$dir/podman"
	eval "$(scripts/podman-env.sh start "$dir/podman")"
fi

if [[ ! -d $dir/node ]]; then
	echo "== preparing the simulated node ($dir/node)"
	testdata/node/prepare.sh "$dir/node"
fi
explorer=$ARCHY_TEST_REGISTRY/archy-sim/explorer:1.0
if ! curl -fsS "http://$ARCHY_TEST_REGISTRY/v2/archy-sim/explorer/tags/list" 2>/dev/null | grep '"1.0"' >/dev/null; then
	echo "== publishing the explorer image to the local registry"
	podman --remote build -q -t "$explorer" "$dir/node/images/explorer" >/dev/null
	podman --remote push -q "$explorer"
	podman --remote rmi "$explorer" >/dev/null
fi

# No secrets file: archy generates the node's secrets (the RPC password
# and its rpcauth line, lnd's wallet password) in Podman on first apply,
# and a job creates lnd's wallet.
run_archy() {
	"$archy" --apps "$dir/node/apps" --data-dir "$dir/state" --socket "$dir/archy.sock" \
		-t "port_base=$port_base" -t "registry=$ARCHY_TEST_REGISTRY" "$@"
}

echo
echo "== archy plan"
run_archy plan
echo
echo "== archy apply"
run_archy apply
echo
echo "== archy converge (the daemon: it heals what breaks)"
if [[ -f $dir/archy.pid ]] && kill -0 "$(cat "$dir/archy.pid")" 2>/dev/null; then
	echo "already running (pid $(cat "$dir/archy.pid")); restarting it on this build"
	stop_daemon
fi
# setsid: the daemon outlives this script and its terminal.
setsid "$archy" --apps "$dir/node/apps" --data-dir "$dir/state" --socket "$dir/archy.sock" \
	-t "port_base=$port_base" -t "registry=$ARCHY_TEST_REGISTRY" \
	converge --http "127.0.0.1:$page_port" >>"$dir/archy.log" 2>&1 </dev/null &
echo $! >"$dir/archy.pid"
for _ in $(seq 100); do
	[[ -f $dir/state/http-token ]] && curl -fsS --unix-socket "$dir/archy.sock" http://archy/v1/ping >/dev/null 2>&1 && break
	if ! kill -0 "$(cat "$dir/archy.pid")" 2>/dev/null; then
		echo "archy converge exited; its log ($dir/archy.log) ends:" >&2
		tail -n 20 "$dir/archy.log" >&2
		exit 1
	fi
	sleep 0.1
done
echo "running (pid $(cat "$dir/archy.pid"), log $dir/archy.log)"
echo
echo "== archy status"
run_archy status
echo
# The sign-in link holds the page's token (DIR/state/http-token, mode
# 0600): shown here for the operator at this terminal, never logged.
echo "Status page: http://127.0.0.1:$page_port/?token=$(cat "$dir/state/http-token")"
echo "  (open it once; the browser keeps the token as a cookie. From another machine:"
echo "   ssh -L $page_port:127.0.0.1:$page_port root@THIS-HOST, then the same address.)"
echo
echo "Run scripts/demo.sh again: archy finds nothing to change."
echo "Try: podman --remote kill archy-bitcoin-ui   (a banner on the page; archy brings it back)"
echo "     scripts/demo.sh down   (removes everything)"
echo "Env for podman/archy by hand: eval \"\$(scripts/podman-env.sh env $dir/podman)\""
