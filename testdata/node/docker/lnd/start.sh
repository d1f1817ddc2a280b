# LND stand-in: its REST API on :8080 (busybox nc, one process per
# connection: serve.sh).
#
# Like lnd with --wallet-unlock-password-file, it needs the wallet password
# (secret lnd-wallet-password as WALLET_PASSWORD): without it it exits 1 and
# says why. On a new data volume there is no wallet: /v1/state answers
# NON_EXISTING (200: the health check's path) and /v1/getinfo 503 until a
# client creates one with POST /v1/initwallet {"wallet_password": base64}
# (the create-wallet job, create-wallet.sh). With a wallet, every start
# unlocks it with the password, and a password that does not unlock it is
# fatal. The wallet keeps a hash of the password, never the value.
#
# /data (a named volume) keeps data_id, made on the first start, and a count
# of starts, so tests can tell a recreate that kept the data from a new one.
set -eu
bb=/bin/busybox
APP=lnd
. /rpc-check.sh # rpc_check: one authenticated call to bitcoin-core at start
if [ -z "${WALLET_PASSWORD:-}" ]; then
	echo "lnd (archy-sim): WALLET_PASSWORD is empty: secret lnd-wallet-password was not injected; refusing to start" >&2
	exit 1
fi
$bb mkdir -p /data
[ -s /data/data_id ] || $bb cat /proc/sys/kernel/random/uuid >/data/data_id
starts=$(($($bb cat /data/starts 2>/dev/null || echo 0) + 1))
echo "$starts" >/data/starts
if [ -s /data/wallet ]; then
	if [ "$(printf %s "$WALLET_PASSWORD" | $bb sha256sum | $bb cut -d' ' -f1)" != "$($bb cat /data/wallet)" ]; then
		echo "lnd (archy-sim): the wallet-unlock password does not unlock the wallet; refusing to start" >&2
		exit 1
	fi
	echo "lnd (archy-sim): wallet unlocked"
else
	echo "lnd (archy-sim): no wallet yet: waiting for POST /v1/initwallet"
fi
rpc_check
echo "lnd (archy-sim): REST on :8080, start $starts"
# -ll: keep listening after each connection.
$bb nc -ll -p 8080 -e $bb sh /serve.sh &
pid=$!
# PID 1 ignores SIGTERM unless it handles it: stop nc and exit at once.
trap '$bb kill $pid; exit 0' TERM INT
wait $pid
