#!/usr/bin/env bash
# Cold apply of the simulated node: archy apply vs podman-compose up -d of
# testdata/node/compose.yaml, on one private Podman service, in one run,
# alternating. "Cold": the images exist (built and pulled once before),
# no container or volume does. archy also waits for each dependency to be
# healthy; podman-compose 1.0.3 waits for nothing (and sleeps 1 s per
# container). Prints each time, the medians and the ratio archy/compose.
#
#   RUNS=5 scripts/bench-apply.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
runs=${RUNS:-3}
dir=$(mktemp -d /tmp/archy-bench.XXXXXX)
trap 'scripts/podman-env.sh stop "$dir/podman" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

./scripts/deps.sh
command -v podman-compose >/dev/null || {
	echo "bench-apply: installing podman-compose" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman-compose >/dev/null
}
. ./scripts/goenv.sh
go build -o "$dir/archy" ./cmd/archy

eval "$(scripts/podman-env.sh start "$dir/podman")"
testdata/node/prepare.sh "$dir/node" >/dev/null
explorer=$ARCHY_TEST_REGISTRY/archy-sim/explorer:1.0
podman --remote build -q -t "$explorer" "$dir/node/images/explorer" >/dev/null
podman --remote push -q "$explorer"

archy() {
	"$dir/archy" --apps "$dir/node/apps" --data-dir "$dir/state" \
		-t port_base=18000 -t "registry=$ARCHY_TEST_REGISTRY" "$@"
}
compose() {
	ARCHY_SIM_REGISTRY=$ARCHY_TEST_REGISTRY podman-compose -p archy-sim -f "$repo/testdata/node/compose.yaml" "$@"
}
clean() {
	podman --remote rm -af -t 0 >/dev/null
	podman --remote volume prune -f >/dev/null
	rm -rf "$dir/state"
}
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }

archy apply >/dev/null # build and pull once: the runs below start with images present
clean

a=() c=()
for i in $(seq "$runs"); do
	t=$(date +%s%N)
	archy apply >"$dir/archy.log" || { cat "$dir/archy.log"; exit 1; }
	a+=("$(ms "$t")")
	clean
	t=$(date +%s%N)
	compose up -d >"$dir/compose.log" 2>&1 || { cat "$dir/compose.log"; exit 1; }
	c+=("$(ms "$t")")
	clean
	echo "run $i: archy apply ${a[-1]} ms, podman-compose up -d ${c[-1]} ms"
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }
ma=$(median "${a[@]}") mc=$(median "${c[@]}")
echo "median: archy apply $ma ms, podman-compose up -d $mc ms, ratio $(awk "BEGIN{printf \"%.2f\", $ma/$mc}")x (target <= 0.6x)"
