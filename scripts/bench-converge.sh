#!/usr/bin/env bash
# The daemon's numbers on the simulated node, on a private Podman:
#  - recovery latency: N kills (podman kill -s KILL) of a UI container under
#    archy converge, and of the same image run by Podman with
#    --restart=always, alternating; time until the page answers again.
#    Podman does not apply its restart policy after podman kill (a stop by
#    the user), so the peer's container is killed from the host instead
#    (kill -9 of its process: a crash, which the policy does restart);
#  - idle cost: archy converge's RSS and CPU over IDLE seconds.
#
#   RUNS=20 IDLE=60 scripts/bench-converge.sh
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-20}
idle=${IDLE:-60}
dir=$(mktemp -d /tmp/archy-bench-converge.XXXXXX)
pid=
cleanup() {
	[[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	scripts/podman-env.sh stop "$dir/podman" >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT

./scripts/deps.sh
. ./scripts/goenv.sh
go build -o "$dir/archy" ./cmd/archy
eval "$(scripts/podman-env.sh start "$dir/podman")"
testdata/node/prepare.sh "$dir/node" >/dev/null
explorer=$ARCHY_TEST_REGISTRY/archy-sim/explorer:1.0
podman --remote build -q -t "$explorer" "$dir/node/images/explorer" >/dev/null
podman --remote push -q "$explorer"
(umask 077 && echo "lnd-wallet-password=bench" >"$dir/secrets.env")

base=18000
"$dir/archy" --apps "$dir/node/apps" --data-dir "$dir/state" --secrets-file "$dir/secrets.env" \
	--socket "$dir/archy.sock" -t port_base=$base -t "registry=$ARCHY_TEST_REGISTRY" \
	converge --interval 30s 2>"$dir/converge.log" &
pid=$!

# wait_page URL MARKER: milliseconds until URL serves MARKER (max 30 s).
wait_page() {
	local t0 i
	t0=$(date +%s%N)
	for i in $(seq 3000); do
		if curl -sf --max-time 0.2 "$1" 2>/dev/null | grep -q "$2"; then
			echo $((($(date +%s%N) - t0) / 1000000))
			return
		fi
		sleep 0.01
	done
	echo 30000
}
ui=http://127.0.0.1:$((base + 4))/
peer=http://127.0.0.1:$((base + 40))/
marker='archy-sim bitcoin-ui'
wait_page "$ui" "$marker" >/dev/null
podman --remote run -d --name peer-ui --restart=always -p 127.0.0.1:$((base + 40)):8080 \
	localhost/archy-sim-bitcoin-ui:local >/dev/null
wait_page "$peer" "$marker" >/dev/null

a=() p=()
for i in $(seq "$runs"); do
	podman --remote kill -s KILL archy-bitcoin-ui >/dev/null
	a+=("$(wait_page "$ui" "$marker")")
	kill -9 "$(podman --remote inspect -f '{{.State.Pid}}' peer-ui)"
	p+=("$(wait_page "$peer" "$marker")")
	sleep 0.5
done
pct() { # pct P values...: the P-th percentile (nearest rank)
	local q=$1
	shift
	printf '%s\n' "$@" | sort -n | awk -v q="$q" '{v[NR]=$1} END {i=int((q/100)*NR+0.999); if(i<1)i=1; print v[i]}'
}
echo "recovery after podman kill -s KILL, $runs runs:"
echo "  archy converge:         p50 $(pct 50 "${a[@]}") ms, p95 $(pct 95 "${a[@]}") ms, max $(pct 100 "${a[@]}") ms"
echo "  podman --restart=always: p50 $(pct 50 "${p[@]}") ms, p95 $(pct 95 "${p[@]}") ms, max $(pct 100 "${p[@]}") ms"
awk -v x="$(pct 95 "${a[@]}")" -v y="$(pct 95 "${p[@]}")" 'BEGIN{printf "  p95 ratio archy/podman: %.2fx (targets: p95 <= 1000 ms, <= 1.5x)\n", x/y}'

# Idle cost over $idle seconds.
tck=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
t0=$(ticks)
sleep "$idle"
t1=$(ticks)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
awk -v d=$((t1 - t0)) -v tck="$tck" -v s="$idle" -v rss="$rss" \
	'BEGIN{printf "idle daemon over %d s: RSS %.1f MB, CPU %.2f %% (targets <= 30 MB, <= 0.5 %%)\n", s, rss/1024, 100*d/tck/s}'
