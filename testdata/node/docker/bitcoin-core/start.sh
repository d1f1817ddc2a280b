# Bitcoin Core stand-in: GET /status.json on :8332 (busybox httpd).
#
# /data (a named volume) keeps data_id, made on the first start, and a count
# of starts, so tests can tell a recreate that kept the data from a new one.
#
# Warm-up: for the first SIM_WARMUP_SECONDS (default 0) after each start,
# /status.json answers what bitcoind's RPC answers while it loads: HTTP 503
# with JSON-RPC error -28, "Loading block index…". httpd runs every *.json
# through /status.cgi, which looks at the clock.
set -eu
bb=/bin/busybox
$bb mkdir -p /data /www /run /etc
rpcauth=${SIM_RPCAUTH:-$($bb cat /run/secrets/bitcoin-rpc-rpcauth 2>/dev/null || true)}
case "$rpcauth" in
*:*\$*) printf '%s\n' "$rpcauth" >/run/rpcauth ;;
*)
	# Like bitcoind without -rpcauth (it falls back to a cookie only
	# local tools can read): it runs, and every client is refused.
	echo "bitcoin-core (archy-sim): no -rpcauth line (secret bitcoin-rpc-rpcauth was not injected): every RPC client will be refused" >&2
	echo 'nobody:none$none' >/run/rpcauth
	;;
esac
: >/run/rpc_ok
: >/run/rpc_refused
[ -s /data/data_id ] || $bb cat /proc/sys/kernel/random/uuid >/data/data_id
starts=$(($($bb cat /data/starts 2>/dev/null || echo 0) + 1))
echo "$starts" >/data/starts
$bb cat >/www/status.json <<JSON
{"app": "bitcoin-core", "sim": true, "chain": "${SIM_CHAIN:-regtest}", "blocks": 0, "data_id": "$($bb cat /data/data_id)", "starts": $starts}
JSON
warmup=${SIM_WARMUP_SECONDS:-0}
echo $(($($bb date +%s) + warmup)) >/run/warm_until
$bb cat >/status.cgi <<'CGI'
#!/bin/busybox sh
if [ "$(/bin/busybox date +%s)" -lt "$(/bin/busybox cat /run/warm_until)" ]; then
	printf 'Status: 503 Service Unavailable\r\nContent-Type: application/json\r\n\r\n'
	echo '{"result":null,"error":{"code":-28,"message":"Loading block index…"},"id":null}'
else
	printf 'Content-Type: application/json\r\n\r\n'
	ok=$(/bin/busybox wc -l </run/rpc_ok) refused=$(/bin/busybox wc -l </run/rpc_refused)
	/bin/busybox sed "s/}\$/, \"rpc_ok\": $ok, \"rpc_refused\": $refused}/" /www/status.json
fi
CGI
$bb chmod 755 /status.cgi
# httpd reads /etc/httpd.conf by itself (its command line stays the plain one).
echo '*.json:/status.cgi' >/etc/httpd.conf
echo "bitcoin-core (archy-sim): serving /status.json on :8332, start $starts, warm-up ${warmup}s"
# -ll: keep listening after each connection.
$bb nc -ll -p 18443 -e $bb sh /rpc.sh &
rpc=$!
# PID 1 ignores SIGTERM unless it handles it: stop both and exit at once.
$bb httpd -f -p 8332 -h /www &
pid=$!
trap '$bb kill $pid $rpc; exit 0' TERM INT
wait $pid
