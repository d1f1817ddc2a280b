#!/usr/bin/env bash
# Speed of vet: the whole `archy vet` process on the shipped catalogue
# (target 300 ms) and on generated catalogues of 300, 1,000, 2,000 and 4,000
# apps in one file, every third app depending on the one before it (the
# time should grow with the apps, not their square: issue 15), then the Go
# benchmarks (shipped catalogue; 300 generated apps, target 3 s; the same
# one-file catalogue at 1,000 and 4,000 apps).
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

# The catalogue catalog.generateOneFile writes (catalog/bench_test.go).
gen=$(mktemp -d)
trap 'rm -rf "$gen"' EXIT
scale_runs=${SCALE_RUNS:-3}
for n in ${SCALE_APPS:-300 1000 2000 4000}; do
	mkdir -p "$gen/$n/apps"
	awk -v n="$n" 'BEGIN {
		print "package apps"
		for (i = 0; i < n; i++) {
			deps = ""
			if (i % 3 == 2) deps = sprintf("\n\tdependencies: [{app_id: \"app-%d\"}]", i - 1)
			printf "\napps: \"app-%d\": {\n\tname:    \"App %d\"\n\tversion: \"1.0.%d\"\n\tcontainer: image: \"docker.io/example/app-%d:1.0\"%s\n\tports: [{container: 8080, host: %d}]\n}\n", i, i, i, i, deps, 10000 + i
		}
	}' >"$gen/$n/apps/apps.cue"
	bin/archy vet --apps "$gen/$n/apps" >/dev/null 2>&1 # warm the page cache; fails the script if vet does
	times=()
	for _ in $(seq "$scale_runs"); do
		start=$(date +%s%N)
		bin/archy vet --apps "$gen/$n/apps" >/dev/null 2>&1
		times+=($(( ($(date +%s%N) - start) / 1000000 )))
	done
	sorted=($(printf '%s\n' "${times[@]}" | sort -n))
	echo "archy vet, $n apps in one file, whole process, $scale_runs runs: median ${sorted[$((scale_runs / 2))]} ms"
done

go test -run '^$' -bench 'BenchmarkLoad' -benchmem -count "${COUNT:-3}" ./catalog/
go test -run '^$' -bench 'BenchmarkDiff' -benchmem -count "${COUNT:-3}" ./plan/
