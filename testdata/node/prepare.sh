#!/usr/bin/env bash
# prepare.sh DIR: make a buildable copy of the simulated node in DIR.
#
# Copies testdata/node to DIR (which must not exist or be empty) and puts the
# static busybox of Debian's busybox-static into every build context there
# (docker/<id>/ and images/explorer/), so that
#
#	archy --apps DIR/apps -t port_base=19000 -t registry=$ARCHY_TEST_REGISTRY apply
#
# builds the stand-ins from the contexts as they are on disk. The busybox is
# never committed (.gitignore). BUSYBOX=/path overrides where it comes from;
# it must be a statically linked ELF executable (a dynamic one cannot run in
# a FROM scratch image).
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() {
	echo "prepare.sh: $*" >&2
	exit 1
}

[[ $# -eq 1 ]] || die "usage: $0 DIR"
dst=$1

# u LEN OFFSET FILE: the little-endian unsigned integer of LEN bytes at OFFSET.
u() {
	local hex
	hex=$(od -An -v -tx1 -j "$2" -N "$1" "$3" | tr -d ' \n')
	[[ ${#hex} -eq $((2 * $1)) ]] || return 1
	local out="" i
	for ((i = ${#hex} - 2; i >= 0; i -= 2)); do out+=${hex:i:2}; done
	echo $((16#$out))
}

# static FILE: succeeds if FILE is a little-endian ELF executable without a
# program interpreter (PT_INTERP), i.e. statically linked.
static() {
	local f=$1 class phoff phentsize phnum i
	[[ -f $f && -r $f ]] || return 1
	[[ $(od -An -tx1 -N6 "$f" | tr -d ' \n') == 7f454c46*01 ]] || return 1 # ELF, little-endian
	class=$(u 1 4 "$f")
	case $class in
	1) phoff=$(u 4 28 "$f") phentsize=$(u 2 42 "$f") phnum=$(u 2 44 "$f") ;;
	2) phoff=$(u 8 32 "$f") phentsize=$(u 2 54 "$f") phnum=$(u 2 56 "$f") ;;
	*) return 1 ;;
	esac
	for ((i = 0; i < phnum; i++)); do
		[[ $(u 4 $((phoff + i * phentsize)) "$f") -ne 3 ]] || return 1 # PT_INTERP
	done
}

if [[ -n ${BUSYBOX:-} ]]; then
	candidates=("$BUSYBOX")
else
	candidates=(/bin/busybox /usr/bin/busybox)
fi
busybox=
for c in "${candidates[@]}"; do
	if static "$c"; then
		busybox=$c
		break
	fi
done
[[ -n $busybox ]] || die "no statically linked busybox at ${candidates[*]}: install Debian's busybox-static (scripts/deps.sh); Debian's busybox package is dynamic and cannot run in a FROM scratch image"

# The list is read whole first: `--list | grep -q` fails under pipefail
# whenever grep exits before busybox has written everything (SIGPIPE).
applets=$("$busybox" --list) || die "$busybox --list failed"
for applet in sh httpd nc sha256sum base64 od wget; do
	grep -qx "$applet" <<<"$applets" || die "$busybox has no $applet applet"
done

if [[ -e $dst ]]; then
	[[ -d $dst && -z $(ls -A "$dst") ]] || die "$dst exists and is not an empty directory"
fi
mkdir -p "$dst"
cp -R "$src/." "$dst/"
n=0
for ctx in "$dst"/docker/*/ "$dst"/images/*/; do
	[[ -f $ctx/Dockerfile ]] || continue
	install -m 0755 "$busybox" "$ctx/busybox"
	# The scripts several stand-ins share, where the Dockerfile names them.
	for f in "$dst"/docker/shared/*; do
		if grep -q "$(basename "$f")" "$ctx/Dockerfile"; then
			cp "$f" "$ctx/"
		fi
	done
	n=$((n + 1))
done
echo "prepare.sh: simulated node in $dst ($n build contexts with $busybox)" >&2
