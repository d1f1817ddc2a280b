#!/usr/bin/env bash
# Installs what archy's tests and demos need from Debian's packages, and
# checks that Go is there. Idempotent, and quick when nothing is missing:
# `apt-get update` runs only when something has to be installed.
#
#   podman, runc, conmon       the container engine; runc because crun fails
#                              on this kernel's hybrid cgroups
#   netavark, aardvark-dns     Podman's bridge networking
#   iptables                   netavark's port publishing (only "Suggested"
#                              by podman, so not pulled in by it)
#   catatonit, uidmap,         init for --init and pods, id mapping, rootless
#   slirp4netns, fuse-overlayfs  networking and storage (Recommended by podman)
#   busybox-static             the static busybox in FROM scratch test images
#   docker-registry            the local registry tests push to and pull from
#   curl, ca-certificates      readiness checks in scripts/podman-env.sh
#   chromium-headless-shell    the headless browser the status page's tests
#                              drive (chromedp)
set -euo pipefail

packages=(
	podman runc conmon netavark aardvark-dns iptables
	catatonit uidmap slirp4netns fuse-overlayfs
	busybox-static docker-registry curl ca-certificates
	chromium-headless-shell
)

# One dpkg-query call; it prints nothing for packages it has never heard of.
declare -A installed=()
while read -r pkg status; do
	if [[ $status == *" installed" ]]; then
		installed[$pkg]=1
	fi
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${packages[@]}" 2>/dev/null || true)
missing=()
for pkg in "${packages[@]}"; do
	[[ -n ${installed[$pkg]:-} ]] || missing+=("$pkg")
done

if ((${#missing[@]})); then
	echo "deps.sh: installing ${missing[*]}" >&2
	if ((EUID != 0)); then
		echo "deps.sh: need root to install packages" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# Wait for another apt run (a second deps.sh, unattended upgrades) rather than fail.
	apt_opts=(-o DPkg::Lock::Timeout=600)
	apt-get "${apt_opts[@]}" update -qq
	# No recommends: podman recommends buildah and dbus-user-session, which
	# archy does not use; what it does use is listed above.
	apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v go >/dev/null 2>&1 && [[ ! -x /usr/local/go/bin/go ]]; then
	echo "deps.sh: Go is not installed (archy needs the version in go.mod); install it from https://go.dev/dl/ into /usr/local/go and put /usr/local/go/bin on PATH" >&2
	exit 1
fi
