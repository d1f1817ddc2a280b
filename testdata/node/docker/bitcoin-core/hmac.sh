# Sourced by rpc.sh (and its test): HMAC-SHA256 in busybox sh, which has
# sha256sum but no HMAC.
# hmac_sha256 KEY MSG: the hex HMAC-SHA256 of MSG keyed by KEY (text of
# at most 64 bytes, as an rpcauth salt is), from busybox's sha256sum.
bb=/bin/busybox
hexbytes() { # the bytes of a hex string, as printf escapes
	echo "$1" | $bb sed 's/../\\x&/g'
}
hmac_sha256() {
	key=$1 msg=$2 ipad="" opad="" i=0
	khex=$(printf %s "$key" | $bb od -An -v -tx1 | $bb tr -d ' \n')
	while [ $i -lt 64 ]; do
		b=0
		if [ $((i * 2)) -lt ${#khex} ]; then
			b=$((0x${khex:$((i * 2)):2}))
		fi
		ipad="$ipad$(printf '\\x%02x' $((b ^ 0x36)))"
		opad="$opad$(printf '\\x%02x' $((b ^ 0x5c)))"
		i=$((i + 1))
	done
	inner=$({ printf "$ipad"; printf %s "$msg"; } | $bb sha256sum | $bb cut -d' ' -f1)
	{ printf "$opad"; printf "$(hexbytes "$inner")"; } | $bb sha256sum | $bb cut -d' ' -f1
}
