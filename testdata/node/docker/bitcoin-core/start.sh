# Bitcoin Core stand-in: GET /status.json on :8332 (busybox httpd).
#
# /data (a named volume) keeps data_id, made on the first start, and a count
# of starts, so tests can tell a recreate that kept the data from a new one.
set -eu
bb=/bin/busybox
$bb mkdir -p /data /www
[ -s /data/data_id ] || $bb cat /proc/sys/kernel/random/uuid >/data/data_id
starts=$(($($bb cat /data/starts 2>/dev/null || echo 0) + 1))
echo "$starts" >/data/starts
$bb cat >/www/status.json <<JSON
{"app": "bitcoin-core", "sim": true, "chain": "${SIM_CHAIN:-regtest}", "blocks": 0, "data_id": "$($bb cat /data/data_id)", "starts": $starts}
JSON
echo "bitcoin-core (archy-sim): serving /status.json on :8332, start $starts"
# PID 1 ignores SIGTERM unless it handles it: stop httpd and exit at once.
$bb httpd -f -p 8332 -h /www &
pid=$!
trap '$bb kill $pid; exit 0' TERM INT
wait $pid
