#!/bin/sh
# Installs archy's man page and shell completions. The binary makes them
# itself (archy man, archy completion SHELL), so they always match it.
#
#   packaging/install.sh [ARCHY]
#
# ARCHY is the binary to ask (default /usr/local/bin/archy). DESTDIR stages
# the files under another root, as package builds do; PREFIX (default /usr)
# is where they go below it.
set -eu
archy=${1:-/usr/local/bin/archy}
share=${DESTDIR:-}${PREFIX:-/usr}/share

# Made first, installed after: a failing binary leaves no file half written.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$archy" man >"$tmp/archy.1"
"$archy" completion bash >"$tmp/bash"
"$archy" completion zsh >"$tmp/zsh"
"$archy" completion fish >"$tmp/fish"

install -D -m 0644 "$tmp/archy.1" "$share/man/man1/archy.1"
install -D -m 0644 "$tmp/bash" "$share/bash-completion/completions/archy"
install -D -m 0644 "$tmp/zsh" "$share/zsh/vendor-completions/_archy"
install -D -m 0644 "$tmp/fish" "$share/fish/vendor_completions.d/archy.fish"
