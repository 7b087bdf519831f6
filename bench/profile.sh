#!/usr/bin/env bash
# bench/profile.sh: CPU profiles of the profiles JSONL path. From the
# repository root, after bench/run.sh has generated the inputs:
#
#   bench/profile.sh            # 1M rows (QUICK=1: 100k)
#
# 1. perf record of the real binary syncing the input into the discard
#    emulator (when perf works here): the whole pipeline, in one process.
# 2. go test -cpuprofile of BenchmarkJSONLProfiles (the reader alone) and of
#    BenchmarkAppendBody (request encoding), read with go tool pprof.
# Outputs land in bench/out/profile-*.txt.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=bench/out
BIN=$OUT/talonsync
API_KEY=emulator-key # the emulator's default test key, not a secret
if [[ "${QUICK:-0}" == 1 ]]; then L=100k; else L=1m; fi
IN=bench/data/profiles-$L.jsonl
[[ -s $IN ]] || { echo "missing $IN: run bench/run.sh first" >&2; exit 1; }
mkdir -p "$OUT"
go build -o "$BIN" ./cmd/talonsync

EMU_PID=
cleanup() {
	if [[ -n $EMU_PID ]]; then
		kill "$EMU_PID" 2>/dev/null || true
		wait "$EMU_PID" 2>/dev/null || true
	fi
}
trap cleanup EXIT

if command -v perf >/dev/null && perf record -o /dev/null -- true >/dev/null 2>&1; then
	"$BIN" emulator --discard --addr 127.0.0.1:0 --api-key "$API_KEY" >"$OUT/emulator-profile.log" 2>&1 &
	EMU_PID=$!
	URL=
	for _ in $(seq 100); do
		URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$OUT/emulator-profile.log")
		[[ -n $URL ]] && break
		sleep 0.1
	done
	[[ -n $URL ]] || { cat "$OUT/emulator-profile.log" >&2; exit 1; }
	echo "== perf record: talonsync profiles $IN" >&2
	TALON_API_KEY=$API_KEY perf record -F 999 -g -o "$OUT/perf-profiles-jsonl.data" -- \
		"$BIN" profiles --base-url "$URL" --progress never --rejects "$OUT/profile.rejects.jsonl" "$IN" \
		>"$OUT/profile-run.log" 2>&1
	{
		echo "# perf: talonsync profiles $IN (flat, by symbol)"
		perf report -i "$OUT/perf-profiles-jsonl.data" --no-children --sort symbol --stdio -g none 2>/dev/null |
			grep -E '^ +[0-9]' | head -n 40 || true
		echo
		echo "# perf: inclusive (children), by symbol"
		perf report -i "$OUT/perf-profiles-jsonl.data" --children --sort symbol --stdio -g none 2>/dev/null |
			grep -E '^ +[0-9]' | head -n 40 || true
	} >"$OUT/profile-perf.txt"
	cat "$OUT/profile-perf.txt"
else
	echo "perf is unavailable: skipping the whole-binary profile" >&2
fi

# pprof_top PKG BENCH NAME: cpu profile of one micro-benchmark.
pprof_top() {
	local pkg=$1 bench=$2 name=$3
	echo "== go test -bench $bench -cpuprofile ($pkg)" >&2
	go test -run '^$' -bench "^$bench\$" -benchtime 3s -cpuprofile "$OUT/$name.cpu.prof" \
		-o "$OUT/$name.test" "$pkg" >"$OUT/$name.bench.txt"
	{
		grep '^Benchmark' "$OUT/$name.bench.txt"
		go tool pprof -top -nodecount 25 "$OUT/$name.test" "$OUT/$name.cpu.prof" 2>/dev/null | sed -n '/flat%/,$p' || true
		echo
		go tool pprof -top -cum -nodecount 20 "$OUT/$name.test" "$OUT/$name.cpu.prof" 2>/dev/null | sed -n '/flat%/,$p' || true
	} >"$OUT/profile-$name.txt"
	cat "$OUT/profile-$name.txt"
}
pprof_top ./internal/readers BenchmarkJSONLProfiles readers-jsonl
pprof_top ./internal/readers BenchmarkCSVProfilesTyped readers-csv
