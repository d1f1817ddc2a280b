#!/usr/bin/env bash
# Speed of vet: the whole `archy vet` process on the shipped catalogue
# (target 300 ms), then the Go benchmarks (shipped catalogue; 300 generated
# apps, target 3 s).
set -euo pipefail
cd "$(dirname "$0")/.."
. ./scripts/goenv.sh

mkdir -p bin
go build -o bin/archy ./cmd/archy
runs=${RUNS:-20}
bin/archy vet --apps apps >/dev/null # warm the page cache
times=()
for _ in $(seq "$runs"); do
	start=$(date +%s%N)
	bin/archy vet --apps apps >/dev/null
	times+=($(( ($(date +%s%N) - start) / 1000000 )))
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "archy vet --apps apps, whole process, $runs runs: min ${sorted[0]} ms, median ${sorted[$((runs / 2))]} ms, max ${sorted[$((runs - 1))]} ms"

go test -run '^$' -bench 'BenchmarkLoad' -benchmem -count "${COUNT:-3}" ./catalog/
go test -run '^$' -bench 'BenchmarkDiff' -benchmem -count "${COUNT:-3}" ./plan/
