#!/usr/bin/env bash
# The main job: archy converges the simulated node (testdata/node) on a
# private Podman service, then shows its status. Running it again applies
# nothing. `scripts/demo.sh down` tears everything down.
#
#   ARCHY_DEMO_DIR   where the service, registry, node copy and archy's state live
#                    (default /var/tmp/archy-demo)
#   ARCHY_DEMO_PORT  port base of the node's published ports (default 18000)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
dir=${ARCHY_DEMO_DIR:-/var/tmp/archy-demo}
port_base=${ARCHY_DEMO_PORT:-18000}

if [[ ${1:-} == down ]]; then
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
	"$archy" --apps "$dir/node/apps" --data-dir "$dir/state" \
		-t "port_base=$port_base" -t "registry=$ARCHY_TEST_REGISTRY" "$@"
}

echo
echo "== archy plan"
run_archy plan
echo
echo "== archy apply"
run_archy apply
echo
echo "== archy status"
run_archy status
echo
echo "Run scripts/demo.sh again: archy finds nothing to change."
echo "Try: podman --remote rm -f archy-bitcoin-ui && scripts/demo.sh   (it comes back)"
echo "     scripts/demo.sh down   (removes everything)"
echo "Env for podman/archy by hand: eval \"\$(scripts/podman-env.sh env $dir/podman)\""
