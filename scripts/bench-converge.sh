#!/usr/bin/env bash
# The daemon's numbers on the simulated node, on a private Podman:
#  - recovery after a crash (SIGSEGV to a UI's web server, from the host), time
#    until the page answers again: archy converge against the same image
#    run by Podman with --restart=always. archy restarts a crash of an app
#    that ran well at once, and backs off from the next (1 s doubling), so
#    each archy sample is the first crash of a UI: the daemon is restarted
#    (adopting everything, restarting nothing) after every three;
#  - recovery after podman kill -s KILL (drift, undone at once every time;
#    Podman's policy does not restart after podman kill at all): archy only;
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
[[ -n ${KEEP_LOG:-} ]] && trap 'cp "$dir/converge.log" "$KEEP_LOG"; cleanup' EXIT

./scripts/deps.sh
. ./scripts/goenv.sh
go build -o "$dir/archy" ./cmd/archy
eval "$(scripts/podman-env.sh start "$dir/podman")"
testdata/node/prepare.sh "$dir/node" >/dev/null
explorer=$ARCHY_TEST_REGISTRY/archy-sim/explorer:1.0
podman --remote build -q -t "$explorer" "$dir/node/images/explorer" >/dev/null
podman --remote push -q "$explorer"

base=18000
start_archy() {
	"$dir/archy" --apps "$dir/node/apps" --data-dir "$dir/state" \
		--socket "$dir/archy.sock" -t port_base=$base -t "registry=$ARCHY_TEST_REGISTRY" \
		converge --interval 30s 2>>"$dir/converge.log" &
	pid=$!
}
stop_archy() {
	kill "$pid" && wait "$pid" || true
	pid=
}
start_archy

# wait_page URL MARKER: milliseconds until URL serves MARKER (max 30 s).
wait_page() {
	local t0 i
	t0=$(date +%s%N)
	for i in $(seq 3000); do
		if curl -sf --max-time 0.2 "$1" 2>/dev/null | grep "$2" >/dev/null; then
			echo $((($(date +%s%N) - t0) / 1000000))
			return
		fi
		sleep 0.01
	done
	echo 30000
}
marker='archy-sim'
uis=("archy-bitcoin-ui $((base + 4))" "archy-electrs-ui $((base + 5))" "archy-lnd-ui $((base + 6))")
peer=http://127.0.0.1:$((base + 40))/
for u in "${uis[@]}"; do wait_page "http://127.0.0.1:${u#* }/" "$marker" >/dev/null; done
podman --remote run -d --name peer-ui --restart=always -p 127.0.0.1:$((base + 40)):8080 \
	localhost/archy-sim-bitcoin-ui:local >/dev/null
wait_page "$peer" "$marker" >/dev/null
# segv CONTAINER: crash the UI's web server (the child of the container's
# shell: PID 1 of a container ignores signals it does not handle).
segv() { kill -SEGV "$(pgrep -P "$(podman --remote inspect -f '{{.State.Pid}}' "$1")" | head -1)"; }

crash=() peers=() drift=()
while [ ${#crash[@]} -lt "$runs" ]; do
	for u in "${uis[@]}"; do
		[ ${#crash[@]} -lt "$runs" ] || break
		segv "${u% *}"
		crash+=("$(wait_page "http://127.0.0.1:${u#* }/" "$marker")")
		segv peer-ui
		peers+=("$(wait_page "$peer" "$marker")")
		sleep 0.5
	done
	stop_archy
	start_archy
	for u in "${uis[@]}"; do wait_page "http://127.0.0.1:${u#* }/" "$marker" >/dev/null; done
	sleep 1
done
ui=${uis[0]}
for i in $(seq "$runs"); do
	podman --remote kill -s KILL "${ui% *}" >/dev/null
	drift+=("$(wait_page "http://127.0.0.1:${ui#* }/" "$marker")")
	sleep 0.5
done
pct() { # pct P values...: the P-th percentile (nearest rank)
	local q=$1
	shift
	printf '%s\n' "$@" | sort -n | awk -v q="$q" '{v[NR]=$1} END {i=int((q/100)*NR+0.999); if(i<1)i=1; print v[i]}'
}
line() { echo "p50 $(pct 50 "$@") ms, p95 $(pct 95 "$@") ms, max $(pct 100 "$@") ms"; }
echo "recovery after a crash (SIGSEGV from the host), $runs runs each:"
echo "  archy converge:          $(line "${crash[@]}")"
echo "  podman --restart=always: $(line "${peers[@]}")"
awk -v x="$(pct 95 "${crash[@]}")" -v y="$(pct 95 "${peers[@]}")" 'BEGIN{printf "  p95 ratio archy/podman: %.2fx (targets: p95 <= 1000 ms, <= 1.5x)\n", x/y}'
echo "  archy samples (ms, in order; three UIs per daemon): ${crash[*]}"
echo "recovery after podman kill -s KILL (drift), $runs runs:"
echo "  archy converge:          $(line "${drift[@]}")"

# Idle cost over $idle seconds.
tck=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
t0=$(ticks)
sleep "$idle"
t1=$(ticks)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
awk -v d=$((t1 - t0)) -v tck="$tck" -v s="$idle" -v rss="$rss" \
	'BEGIN{printf "idle daemon over %d s: RSS %.1f MB, CPU %.2f %% (targets <= 30 MB, <= 0.5 %%)\n", s, rss/1024, 100*d/tck/s}'
