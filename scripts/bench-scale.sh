#!/usr/bin/env bash
# archy at scale: a catalogue of N independent apps without health checks
# (busybox httpd each, host network), on a private Podman, in one run:
#  - the floor: N plain `podman run -d` side by side, until all serve;
#  - archy converge from cold, until all serve;
#  - `podman rm -f` of all N at once (N side by side), until the daemon has
#    all serving again (the time includes Podman's removals).
# Each new container of archy is proved (grace_period, 5 s by default)
# while the others go on: the goal is each <= 1.5x the floor.
#
#   APPS=30 scripts/bench-scale.sh
set -euo pipefail
cd "$(dirname "$0")/.."
n=${APPS:-30}
base=${PORT_BASE:-19100}
dir=$(mktemp -d /tmp/archy-bench-scale.XXXXXX)
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

# The image: FROM scratch, the static busybox, a page.
img=localhost/archy-bench-web:1
mkdir -p "$dir/ctx/www" "$dir/apps"
cp "$(command -v busybox)" "$dir/ctx/busybox"
echo '<title>bench</title>' >"$dir/ctx/www/index.html"
printf 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY www /www\n' >"$dir/ctx/Dockerfile"
podman --remote build -q -t "$img" "$dir/ctx" >/dev/null

echo 'package apps' >"$dir/apps/apps.cue"
for i in $(seq "$n"); do
	cat >>"$dir/apps/apps.cue" <<CUE
apps: "web-$i": {
	name: "web $i", version: "1"
	container: source: {type: "pull", image: "$img", pull_policy: "never"}
	command: ["/bin/busybox", "httpd", "-f", "-h", "/www", "-p", "127.0.0.1:$((base + i))"]
	security: network_policy: "host"
}
CUE
done

ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
# all_serve WHAT: until every port answers (max 120 s).
all_serve() {
	local i left
	for _ in $(seq 1200); do
		left=0
		for i in $(seq "$n"); do
			curl -sf --max-time 0.2 -o /dev/null "http://127.0.0.1:$((base + i))/" || { left=$i; break; }
		done
		((left)) || return 0
		sleep 0.1
	done
	echo "bench-scale: $1: app $left of $n does not serve on port $((base + left)) after 120 s" >&2
	podman --remote ps -a --format '{{.Names}} {{.Status}}' | head >&2
	[[ -f $dir/converge.log ]] && tail -20 "$dir/converge.log" >&2
	exit 1
}

# The floor.
t=$(date +%s%N)
for i in $(seq "$n"); do
	podman --remote run -d --name "floor-$i" --network host "$img" \
		/bin/busybox httpd -f -h /www -p "127.0.0.1:$((base + i))" >/dev/null &
done
wait
all_serve floor
floor=$(ms "$t")
podman --remote rm -af -t 0 >/dev/null

# archy converge from cold.
t=$(date +%s%N)
"$dir/archy" --apps "$dir/apps" --data-dir "$dir/state" --socket "$dir/archy.sock" \
	converge --interval 30s 2>>"$dir/converge.log" &
pid=$!
all_serve 'archy converge'
cold=$(ms "$t")
# Once every app is proved (the daemon idles), remove them all at once.
for _ in $(seq 600); do
	"$dir/archy" --apps "$dir/apps" --data-dir "$dir/state" --socket "$dir/archy.sock" status --check >/dev/null 2>&1 && break
	sleep 0.1
done
sleep 1
t=$(date +%s%N)
for i in $(seq "$n"); do podman --remote rm -f -t 0 "web-$i" >/dev/null & done
wait
all_serve 'after podman rm -f'
removed=$(ms "$t")

awk -v n="$n" -v f="$floor" -v c="$cold" -v r="$removed" 'BEGIN{
	printf "%d apps: parallel podman run floor %d ms\n", n, f
	printf "  archy converge cold:       %d ms (%.2fx the floor; target <= 1.5x)\n", c, c/f
	printf "  after podman rm -f of all: %d ms (%.2fx the floor; target <= 1.5x)\n", r, r/f
}'
