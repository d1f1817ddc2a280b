# One connection to the LND stand-in's REST API (see start.sh):
#   GET  /v1/state       {"state": "NON_EXISTING"} or {"state": "RPC_ACTIVE"}
#   GET  /v1/getinfo     the node's info once a wallet exists, else 503
#   POST /v1/initwallet  {"wallet_password": "<base64>"}: creates the wallet
#                        (409 if there is one); it stores a hash only
bb=/bin/busybox
# shellcheck disable=SC3045 # busybox ash has read -t
read -r -t 5 method path _ || exit 0
len=0
while read -r -t 5 line; do
	line=$(printf %s "$line" | $bb tr -d '\r')
	[ -z "$line" ] && break
	case "$line" in
	[Cc]ontent-[Ll]ength:*) len=$(printf %s "${line#*:}" | $bb tr -d ' ') ;;
	esac
done
body=""
if [ "$len" -gt 0 ] 2>/dev/null; then
	body=$($bb head -c "$len")
fi
respond() {
	printf 'HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' "$1" ${#2} "$2"
}
case "$method $path" in
"GET /v1/state")
	if [ -s /data/wallet ]; then
		respond "200 OK" '{"state":"RPC_ACTIVE"}'
	else
		respond "200 OK" '{"state":"NON_EXISTING"}'
	fi
	;;
"GET /v1/getinfo")
	if [ -s /data/wallet ]; then
		respond "200 OK" "{\"app\": \"lnd\", \"sim\": true, \"wallet\": \"unlocked\", \"synced_to_chain\": true, \"data_id\": \"$($bb cat /data/data_id)\", \"starts\": $($bb cat /data/starts), \"wallets_created\": $($bb cat /data/wallets_created)}"
	else
		respond "503 Service Unavailable" '{"code":2,"message":"wallet not created, create one to enable full RPC access"}'
	fi
	;;
"POST /v1/initwallet")
	pw=$(printf %s "$body" | $bb sed -n 's/.*"wallet_password" *: *"\([^"]*\)".*/\1/p' | $bb base64 -d 2>/dev/null)
	if [ -s /data/wallet ]; then
		respond "409 Conflict" '{"code":2,"message":"wallet already exists"}'
	elif [ ${#pw} -lt 8 ]; then
		respond "400 Bad Request" '{"code":2,"message":"password must have at least 8 characters"}'
	else
		printf %s "$pw" | $bb sha256sum | $bb cut -d' ' -f1 >/data/wallet
		echo $(($($bb cat /data/wallets_created 2>/dev/null || echo 0) + 1)) >/data/wallets_created
		echo "lnd (archy-sim): wallet created" >&2
		respond "200 OK" '{"admin_macaroon":"sim"}'
	fi
	;;
*)
	respond "404 Not Found" '{"code":5,"message":"Not Found"}'
	;;
esac
