# One connection to the bitcoin-core stand-in's JSON-RPC port (:18443, as
# regtest's): it checks HTTP Basic credentials the way bitcoind checks an
# -rpcauth line (USER:SALT$HMAC): the user must match and HMAC-SHA256 keyed
# by SALT's text over the password must equal HMAC. 200 with a result, or
# 401. It counts both (/run/rpc_ok, /run/rpc_refused, one line a call) and
# never writes the password anywhere.
bb=/bin/busybox
. /hmac.sh
auth=""
# shellcheck disable=SC3045 # busybox ash has read -t
read -r -t 5 _request || exit 0
while read -r -t 5 line; do
	line=$(printf %s "$line" | $bb tr -d '\r')
	[ -z "$line" ] && break
	case "$line" in
	[Aa]uthorization:\ Basic\ *) auth=${line#*Basic } ;;
	esac
done
rpcauth=$($bb cat /run/rpcauth)
user=${rpcauth%%:*}
rest=${rpcauth#*:}
salt=${rest%%\$*}
want=${rest#*\$}
cred=$(printf %s "$auth" | $bb base64 -d 2>/dev/null)
ok=false
if [ -n "$auth" ] && [ "${cred%%:*}" = "$user" ] && [ "$(hmac_sha256 "$salt" "${cred#*:}")" = "$want" ]; then
	ok=true
fi
if $ok; then
	echo ok >>/run/rpc_ok
	body='{"result":{"chain":"regtest","blocks":0},"error":null,"id":"archy-sim"}'
	printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' ${#body} "$body"
else
	echo refused >>/run/rpc_refused
	echo "bitcoin-core (archy-sim): RPC refused: wrong user or password for -rpcauth user $user" >&2
	printf 'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="jsonrpc"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'
fi
