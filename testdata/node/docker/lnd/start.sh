# LND stand-in: GET /v1/getinfo on :8080 (busybox httpd).
#
# Like LND with --wallet-unlock-password-file, it needs the wallet password:
# without WALLET_PASSWORD (secret lnd-wallet-password) it exits 1 and says
# why. The value is never printed or written anywhere.
#
# /data (a named volume) keeps data_id, made on the first start, and a count
# of starts, so tests can tell a recreate that kept the data from a new one.
set -eu
bb=/bin/busybox
if [ -z "${WALLET_PASSWORD:-}" ]; then
	echo "lnd (archy-sim): WALLET_PASSWORD is empty: secret lnd-wallet-password was not injected; refusing to start" >&2
	exit 1
fi
$bb mkdir -p /data /www/v1
[ -s /data/data_id ] || $bb cat /proc/sys/kernel/random/uuid >/data/data_id
starts=$(($($bb cat /data/starts 2>/dev/null || echo 0) + 1))
echo "$starts" >/data/starts
$bb cat >/www/v1/getinfo <<JSON
{"app": "lnd", "sim": true, "wallet": "unlocked", "synced_to_chain": true, "data_id": "$($bb cat /data/data_id)", "starts": $starts}
JSON
echo "lnd (archy-sim): wallet unlocked; serving /v1/getinfo on :8080, start $starts"
# PID 1 ignores SIGTERM unless it handles it: stop httpd and exit at once.
$bb httpd -f -p 8080 -h /www &
pid=$!
trap '$bb kill $pid; exit 0' TERM INT
wait $pid
