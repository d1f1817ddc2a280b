# lnd-ui stand-in: busybox httpd serving /www (index.html, title marker
# "archy-sim lnd-ui") on :8080.
set -eu
bb=/bin/busybox
echo "lnd-ui (archy-sim): serving /www on :8080"
# PID 1 ignores SIGTERM unless it handles it: stop httpd and exit at once.
$bb httpd -f -p 8080 -h /www &
pid=$!
trap '$bb kill $pid; exit 0' TERM INT
wait $pid
