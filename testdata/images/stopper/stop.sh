# A stand-in for a daemon that must flush before it exits (bitcoind, lnd, a
# database): PID 1 traps its stop signal (TERM, INT, QUIT or HUP), "flushes"
# for FLUSH_SECONDS (default 2), then records a clean shutdown in /data and
# exits 0. Killed before that, it records nothing and exits 137.
#
# /data/clean-stop is the signal of the last clean stop ("SIGINT"), and
# /data/stops has a line per clean stop, so a test can tell a stop of this
# run from an earlier one. /data/starts counts the starts; it is written
# once the traps are set, so a test that waits for it knows a stop signal
# is handled from then on.
#
# With HTTP_PORT set it serves /data/www there (busybox httpd), where each
# start writes /data/www/ok: an http health check of /ok passes until a test
# removes that file from the volume, and the next start heals it.
bb=/bin/busybox
$bb mkdir -p /data/www
echo ok >/data/www/ok
if [ -n "${HTTP_PORT:-}" ]; then
	$bb httpd -f -p "$HTTP_PORT" -h /data/www &
fi

flush() {
	echo "stopper: got $1; flushing for ${FLUSH_SECONDS:-2}s"
	$bb sleep "${FLUSH_SECONDS:-2}"
	echo "$1" >/data/clean-stop
	echo "$1" >>/data/stops
	echo "stopper: flushed; exiting"
	exit 0
}
trap 'flush SIGTERM' TERM
trap 'flush SIGINT' INT
trap 'flush SIGQUIT' QUIT
trap 'flush SIGHUP' HUP
echo $(($($bb cat /data/starts 2>/dev/null || echo 0) + 1)) >/data/starts

echo "stopper: running (start $($bb cat /data/starts))"
# A shell runs a trap only between commands: wait, unlike a foreground
# sleep, returns at once when a signal arrives.
while :; do
	$bb sleep 3600 &
	wait $!
done
