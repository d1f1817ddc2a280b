# electrs stand-in: a TCP server on :50001 (busybox nc, one process per
# connection) that answers one Electrum-style JSON line (answer.sh).
#
# /data (a named volume) keeps data_id, made on the first start, and a count
# of starts, so tests can tell a recreate that kept the data from a new one.
set -eu
bb=/bin/busybox
APP=electrs
. /rpc-check.sh # rpc_check: one authenticated call to bitcoin-core at start
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
