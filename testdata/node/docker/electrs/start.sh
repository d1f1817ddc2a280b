# electrs stand-in: a TCP server on :50001 (busybox nc, one process per
# connection) that answers one Electrum-style JSON line (answer.sh).
#
# /data (a named volume) keeps data_id, made on the first start, and a count
# of starts, so tests can tell a recreate that kept the data from a new one.
set -eu
bb=/bin/busybox
APP=electrs
# Like a real client at start: one authenticated call to bitcoin-core's RPC
# (SIM_BITCOIN_RPC, by name on the app network) with the password of secret
# bitcoin-rpc (RPC_PASSWORD) for user SIM_RPC_USER. A refused password is
# fatal; a node it cannot reach (no app network, as under kube play) is
# reported and not checked.
rpc_check() {
	[ -n "${SIM_BITCOIN_RPC:-}" ] || return 0
	auth=$(printf '%s:%s' "${SIM_RPC_USER:-archy}" "${RPC_PASSWORD:-}" | $bb base64 | $bb tr -d '\n')
	tries=0
	while :; do
		if out=$($bb wget -q -O- --header "Authorization: Basic $auth" "http://$SIM_BITCOIN_RPC/" 2>&1); then
			echo "$APP (archy-sim): bitcoin-core accepted the RPC password"
			return 0
		fi
		case "$out" in
		*401*)
			echo "$APP (archy-sim): bitcoin-core refused the RPC password of user ${SIM_RPC_USER:-archy}; refusing to start" >&2
			exit 1
			;;
		esac
		tries=$((tries + 1))
		if [ $tries -ge 5 ]; then
			echo "$APP (archy-sim): bitcoin-core's RPC at $SIM_BITCOIN_RPC is unreachable ($out): not checked" >&2
			return 0
		fi
		$bb sleep 1
	done
}
$bb mkdir -p /data
[ -s /data/data_id ] || $bb cat /proc/sys/kernel/random/uuid >/data/data_id
starts=$(($($bb cat /data/starts 2>/dev/null || echo 0) + 1))
echo "$starts" >/data/starts
rpc_check
echo "electrs (archy-sim): Electrum-style TCP on :50001, start $starts"
# -ll: keep listening after each connection.
$bb nc -ll -p 50001 -e $bb sh /answer.sh &
pid=$!
# PID 1 ignores SIGTERM unless it handles it: stop nc and exit at once.
trap '$bb kill $pid; exit 0' TERM INT
wait $pid
