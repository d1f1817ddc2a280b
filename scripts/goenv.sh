# Sourced by the other scripts: the Go settings every build of archy needs.
# The Podman bindings need these build tags (no cgo graph drivers, no gpgme).
archy_tags="remote,exclude_graphdriver_btrfs,btrfs_noversion,exclude_graphdriver_devicemapper,containers_image_openpgp"
case " ${GOFLAGS:-} " in
*"-tags="*) ;;
*) export GOFLAGS="${GOFLAGS:+$GOFLAGS }-tags=$archy_tags" ;;
esac
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="/usr/local/go/bin:$PATH"
fi
