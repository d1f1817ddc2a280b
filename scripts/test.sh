#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, then
# gofmt, go vet and every test with the Podman integration tests on.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
. ./scripts/goenv.sh

echo "== gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test (ARCHY_INTEGRATION=1)"
ARCHY_INTEGRATION=1 go test -count=1 -timeout 30m "$@" ./...
