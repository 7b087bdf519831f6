#!/usr/bin/env bash
# bench/state.sh: repeated keys and --state (issue 12). From the repository root:
#
#   bench/state.sh            # 1M rows over 800,000 ids, each entity; ~2 minutes
#   QUICK=1 bench/state.sh    # 100k rows over 80,000 ids
#
# Inputs (bench/gen -keys: every row's key drawn uniformly from the ids, so
# a key repeats anywhere in the file) are generated once under bench/data/.
# For each entity it runs, against `talonsync emulator --discard`: no
# --state; --state on an empty state (first); the same file again
# (unchanged); the file with 1% of rows altered (bench/gen -change 0.01).
# Each at talonsync's defaults (--workers auto) and at --workers 8. Then the
# coalescing case: 30,000 profile rows over 24,000 ids, --workers 8, an
# emulator answering after 200 ms. The table goes to bench/out/state.md.
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
if [[ "${QUICK:-0}" == 1 ]]; then N=100000 KEYS=80000 L=100k; else N=1000000 KEYS=800000 L=1m; fi

go build -o "$BIN" ./cmd/talonsync
go build -o "$GEN" ./bench/gen
[[ -x /usr/bin/time ]] || { echo "bench/state.sh needs GNU time (/usr/bin/time)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "bench/state.sh needs python3 (to read the reports)" >&2; exit 1; }

gen() { # gen FILE ENTITY ROWS KEYS [FLAGS...]
	local f=$1 e=$2 rows=$3 keys=$4; shift 4
	[[ -s $f ]] || "$GEN" -entity "$e" -format csv -rows "$rows" -keys "$keys" -seed 1 -out "$f" "$@"
}

TABLE=$OUT/state.md
{
	echo "# talonsync --state benchmark: $N rows over $KEYS ids"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo "- machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), load $(cut -d' ' -f1 /proc/loadavg) at the start"
	echo
	echo "| entity | workers | run | wall s | rows/s | peak RSS MB | delivered | unchanged | merged | requests |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
} >"$TABLE"

# run ENTITY WORKERS NAME INPUT [FLAGS...]: one timed run, one table line.
run() {
	local e=$1 w=$2 name=$3 in=$4; shift 4
	local rep=$OUT/state-$e-$w-$name.json tf=$OUT/state.time
	TALON_API_KEY=$API_KEY /usr/bin/time -f '%e %M' -o "$tf" "$BIN" "$e" --base-url "$EMU_URL" \
		--progress never --workers "$w" --report "$rep" --rejects "$OUT/state.rejects.jsonl" "$@" "$in" \
		>"$OUT/state-$e-$w-$name.log" 2>&1 || { echo "$e $name failed: see $OUT/state-$e-$w-$name.log" >&2; exit 1; }
	python3 - "$rep" "$(tail -n1 "$tf")" "$e" "$w" "$name" >>"$TABLE" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
wall, rss = sys.argv[2].split()
wall = float(wall)
print("| %s | %s | %s | %.2f | %.0f | %.0f | %d | %d | %d | %d |" % (sys.argv[3], sys.argv[4], sys.argv[5],
      wall, r["read"] / wall, int(rss) / 1024, r["delivered"], r["unchanged"], r["merged"], r["requests"]))
PY
	tail -n1 "$TABLE" >&2
}

start_emulator state
for e in profiles catalog audiences; do
	in=$DATA/$e-keys$((KEYS / 1000))k-$L.csv chg=$DATA/$e-keys$((KEYS / 1000))k-$L-chg1.csv
	gen "$in" "$e" "$N" "$KEYS"
	gen "$chg" "$e" "$N" "$KEYS" -change 0.01
	flags=()
	[[ $e == catalog ]] && flags=(--catalog-id 1)
	for w in auto 8; do
		st=$OUT/state-$e-$w.state
		rm -f "$st" "$st".*
		run "$e" "$w" "no-state" "$in" "${flags[@]}"
		run "$e" "$w" "first" "$in" "${flags[@]}" --state "$st"
		run "$e" "$w" "unchanged" "$in" "${flags[@]}" --state "$st"
		run "$e" "$w" "1%-changed" "$chg" "${flags[@]}" --state "$st"
	done
done

# Coalescing on send: rows of a key not yet sent merge into its item.
start_emulator state-latency --latency 200ms
co=$DATA/profiles-keys24k-30k.csv
gen "$co" profiles 30000 24000
run profiles 8 "30k-over-24k-200ms" "$co"
echo >>"$TABLE"
echo "distinct keys of the 30k file: $(tail -n +2 "$co" | cut -d, -f1 | sort -u | wc -l)" >>"$TABLE"
cat "$TABLE"
