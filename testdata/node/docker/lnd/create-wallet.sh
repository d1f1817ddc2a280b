# The create-wallet job of the LND stand-in (testdata/node/apps/lnd.cue):
# like a first boot's `lncli create`, through the REST API of the running
# lnd, by name on the app network. The password comes from secret
# lnd-wallet-password (WALLET_PASSWORD); it is never printed. A wallet that
# exists is success, so the job can run again.
set -eu
bb=/bin/busybox
api=${LND_REST:-http://lnd:8080}
# lnd is healthy when the job runs, but its name may take a moment to
# resolve on the app network: try for up to 10 s.
tries=0
until state=$($bb wget -q -O- "$api/v1/state" 2>&1); do
	tries=$((tries + 1))
	if [ $tries -ge 10 ]; then
		echo "create-wallet: cannot reach lnd at $api: $state" >&2
		exit 1
	fi
	$bb sleep 1
done
case "$state" in
*NON_EXISTING*) ;;
*)
	echo "create-wallet: lnd already has a wallet ($state)"
	exit 0
	;;
esac
pw=$(printf %s "$WALLET_PASSWORD" | $bb base64 | $bb tr -d '\n')
if ! out=$($bb wget -q -O- --post-data "{\"wallet_password\": \"$pw\"}" "$api/v1/initwallet" 2>&1); then
	echo "create-wallet: lnd refused to create the wallet: $out" >&2
	exit 1
fi
echo "create-wallet: wallet created"
