#!/usr/bin/env bash
# A private Podman service and local image registry for humans and demos:
# the shell twin of internal/podmantest, rendering the same files from
# internal/podmantest/conf/ the same way. Nothing touches the host's
# containers or /etc.
#
#   scripts/podman-env.sh start DIR   start both with all state in DIR, print the env
#   scripts/podman-env.sh env DIR     print the env of DIR's service again
#   scripts/podman-env.sh stop DIR    remove every container, stop both, unmount, delete DIR
#
#   eval "$(scripts/podman-env.sh start /tmp/archy-demo)"
#   podman ps              # CONTAINER_HOST makes podman a client of the service
#   archy plan
#   scripts/podman-env.sh stop /tmp/archy-demo
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
conf=$repo/internal/podmantest/conf
marker=.archy-podman-env # marks DIR as ours, so stop never deletes a stranger's dir

die() {
	echo "podman-env: $*" >&2
	exit 1
}
say() { echo "podman-env: $*" >&2; }

usage() { die "usage: $0 start|stop|env DIR"; }

# render NAME DEST: conf/NAME with its @...@ placeholders filled.
render() {
	sed -e "s|@NETWORK@|$network|g" -e "s|@NETWORK_ID@|$network_id|g" \
		-e "s|@NETWORK_DIR@|$dir/networks|g" -e "s|@BRIDGE@|$bridge|g" \
		-e "s|@SUBNET@|$subnet|g" -e "s|@SUBNET_POOL@|$subnet.0/20|g" -e "s|@REGISTRY@|$registry|g" \
		-e "s|@REGISTRY_DIR@|$dir/registry|g" -e "s|@ROOT@|$dir/root|g" \
		-e "s|@RUNROOT@|$dir/runroot|g" "$conf/$1" >"$2"
	# A leftover placeholder means this script and podmantest drifted apart.
	if grep -q '@[A-Z_]*@' "$2"; then
		die "rendering $1: no value for $(grep -o '@[A-Z_]*@' "$2" | head -1)"
	fi
}

randhex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

# free_port: a random port on 127.0.0.1 that nothing accepts connections on.
free_port() {
	local port
	for _ in $(seq 50); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	die "no free port found"
}

# free_subnet: 10.x.y, y a multiple of 16, outside Podman's default pools
# with no host address in 10.x.y.0/20. The default network takes the first
# /24, networks the service creates the rest (default_subnet_pools): like
# podmantest's pickSubnet, so services running at once never share a subnet.
free_subnet() {
	local x y
	for _ in $(seq 50); do
		x=$((100 + RANDOM % 150)) y=$((16 * (RANDOM % 16)))
		if ! command -v ip >/dev/null || ! ip -o -4 addr |
			awk -v x="$x" -v y="$y" '{ split($4, a, "[./]") } a[1] == 10 && a[2] == x && a[3] >= y && a[3] < y + 16 { f = 1 } END { exit !f }'; then
			echo "10.$x.$y"
			return
		fi
	done
	die "no free subnet found"
}

# alive NAME: NAME's process runs (a killed one may linger as a zombie).
alive() {
	local stat
	[[ -f $dir/$1.pid ]] && stat=$(cat "/proc/$(cat "$dir/$1.pid")/stat" 2>/dev/null) &&
		[[ ${stat##*) } != Z* ]]
}

ping_service() { curl -sf --max-time 5 --unix-socket "$dir/podman.sock" http://d/_ping >/dev/null 2>&1; }

# wait_for NAME CHECK...: run CHECK until it succeeds, NAME dies or 30 s pass.
wait_for() {
	local name=$1
	shift
	for _ in $(seq 300); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		alive "$name" || break
		sleep 0.1
	done
	say "$name did not come up; its log ends:"
	tail -n 20 "$dir/$name.log" >&2
	return 1
}

# spawn NAME CMD...: run CMD in its own session (so stop can kill its group), logging to DIR/NAME.log.
spawn() {
	local name=$1
	shift
	setsid "$@" </dev/null >"$dir/$name.log" 2>&1 &
	echo $! >"$dir/$name.pid"
}

podman_local() { # podman on DIR's storage without the service (stop's fallback)
	env -u CONTAINER_HOST -u CONTAINER_CONNECTION CONTAINERS_CONF="$dir/containers.conf" \
		CONTAINERS_REGISTRIES_CONF="$dir/registries.conf" CONTAINERS_STORAGE_CONF="$dir/storage.conf" \
		podman --root "$dir/root" --runroot "$dir/runroot" --tmpdir "$dir/tmp" \
		--storage-driver "$(cat "$dir/driver" 2>/dev/null || echo overlay)" "$@"
}

start_service() { # start_service DRIVER
	rm -f "$dir/podman.sock"
	echo "$1" >"$dir/driver"
	spawn service env -u CONTAINER_HOST -u CONTAINER_CONNECTION -u STORAGE_DRIVER -u STORAGE_OPTS \
		CONTAINERS_CONF="$dir/containers.conf" CONTAINERS_REGISTRIES_CONF="$dir/registries.conf" \
		CONTAINERS_STORAGE_CONF="$dir/storage.conf" \
		podman --root "$dir/root" --runroot "$dir/runroot" --tmpdir "$dir/tmp" --storage-driver "$1" \
		system service --time=0 "unix://$dir/podman.sock"
	wait_for service ping_service
}

cmd_start() {
	command -v podman >/dev/null || die "podman not found (run scripts/deps.sh)"
	command -v docker-registry >/dev/null || die "docker-registry not found (run scripts/deps.sh)"
	if [[ -f $dir/$marker ]]; then
		alive service && alive registry || die "$dir holds a stopped or broken service; run: $0 stop $dir"
		say "already running"
		cmd_env
		return
	fi
	mkdir -p "$dir"
	[[ -z $(ls -A "$dir") ]] || die "$dir is not empty"
	touch "$dir/$marker"
	mkdir "$dir/networks"

	local suffix
	suffix=$(randhex 3)
	network=archytest-$suffix bridge=archy$suffix network_id=$(randhex 32)
	subnet=$(free_subnet)
	registry=127.0.0.1:$(free_port)
	render containers.conf "$dir/containers.conf"
	render registries.conf "$dir/registries.conf"
	render storage.conf "$dir/storage.conf"
	render network.json "$dir/networks/$network.json"
	render registry.yml "$dir/registry.yml"
	cat >"$dir/env.sh" <<-EOF
		export CONTAINER_HOST=unix://$dir/podman.sock
		export CONTAINERS_CONF=$dir/containers.conf
		export CONTAINERS_REGISTRIES_CONF=$dir/registries.conf
		export ARCHY_TEST_REGISTRY=$registry
	EOF

	spawn registry docker-registry serve "$dir/registry.yml"
	wait_for registry curl -sf "http://$registry/v2/" || die "starting registry failed"

	# overlay first (what a real node uses); vfs where overlay does not work.
	if ! start_service overlay; then
		say "retrying with storage driver vfs"
		kill -KILL -- "-$(cat "$dir/service.pid")" 2>/dev/null || true
		unmount_all
		rm -rf "$dir/root" "$dir/runroot" "$dir/tmp"
		start_service vfs || die "starting podman service failed"
	fi
	say "podman service unix://$dir/podman.sock (storage $(cat "$dir/driver"), network $network), registry $registry"
	cmd_env
}

cmd_env() {
	[[ -f $dir/env.sh ]] || die "$dir has no running service; run: $0 start $dir"
	cat "$dir/env.sh"
}

# stop_group NAME: SIGTERM NAME's process group, SIGKILL it after 10 s.
stop_group() {
	[[ -f $dir/$1.pid ]] || return 0
	local pid
	pid=$(cat "$dir/$1.pid")
	kill -TERM -- "-$pid" 2>/dev/null || return 0
	for _ in $(seq 100); do
		alive "$1" || break
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null || true
}

unmount_all() { # deepest first: overlay layers, container shm, overlay's own bind mount
	awk -v d="$dir/" 'index($5, d) == 1 { print length($5), $5 }' /proc/self/mountinfo |
		sort -rn | cut -d' ' -f2- | while read -r m; do umount -l "$m" || true; done
}

cmd_stop() {
	[[ -d $dir ]] || return 0
	[[ -f $dir/$marker ]] || die "$dir was not made by $0; not touching it"
	# Remove containers through Podman, so their network set-up and runtime
	# state go too: via the service if it answers, else on its storage directly.
	if ping_service; then
		podman --url "unix://$dir/podman.sock" pod rm --all --force --time 0 >/dev/null || true
		podman --url "unix://$dir/podman.sock" rm --all --force --time 0 >/dev/null || true
	elif [[ -d $dir/root ]]; then
		podman_local pod rm --all --force --time 0 >/dev/null || true
		podman_local rm --all --force --time 0 >/dev/null || true
	fi
	stop_group service
	stop_group registry
	# Container monitors (conmon) leave the service's group; catch survivors.
	local f pid args
	for f in /proc/[0-9]*/cmdline; do
		pid=${f#/proc/} pid=${pid%/cmdline}
		[[ $pid != "$$" ]] && mapfile -d '' args 2>/dev/null <"$f" || continue
		if [[ " ${args[*]} " == *"$dir/"* ]]; then
			say "killing leftover: ${args[*]}"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	unmount_all
	rm -rf "$dir"
	say "stopped and removed $dir"
}

[[ $# -eq 2 ]] || usage
dir=$(realpath -m "$2")
case $1 in
start) cmd_start ;;
env) cmd_env ;;
stop) cmd_stop ;;
*) usage ;;
esac
