#!/usr/bin/env bash
# The main job: build archy, vet the node's app catalogue and show the apps
# in the order archy will bring them up.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
. ./scripts/goenv.sh

mkdir -p bin
go build -o bin/archy ./cmd/archy
echo "== archy vet --apps apps"
bin/archy vet --apps apps
echo
echo "== archy list --apps apps (dependency order)"
bin/archy list --apps apps
