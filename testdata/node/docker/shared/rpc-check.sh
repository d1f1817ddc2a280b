# Sourced by the start.sh of electrs and lnd (prepare.sh copies it into
# each build context whose Dockerfile names it); needs bb and APP.
#
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
