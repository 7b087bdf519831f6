#!/usr/bin/env bash
# bench/run.sh: end-to-end benchmark of talonsync against the emulator's
# discard sink, plus the Go micro-benchmarks. From the repository root:
#
#   bench/run.sh            # full suite, a few minutes (inputs are generated once)
#   QUICK=1 bench/run.sh    # smaller inputs, under a minute
#
# It builds talonsync once, generates missing inputs under bench/data/,
# starts `talonsync emulator --discard` on free loopback ports (stopped on
# exit), measures every run with /usr/bin/time -v (or bench/rusage when GNU
# time is missing), and writes the tables to bench/out/results.md.
#
# Environment: QUICK=1 (smaller run), SKIP_MICRO=1 (no go test -bench),
# BENCHTIME (go test -benchtime, default 1s), BENCH_TIMER=rusage (use
# bench/rusage even when GNU time is there).
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

if [[ "${QUICK:-0}" == 1 ]]; then
	N=100000 BIG=500000 LAT_ROWS=20000 RATE_ROWS=500 MODE=quick
else
	N=1000000 BIG=5000000 LAT_ROWS=100000 RATE_ROWS=3000 MODE=full
fi
LANES=auto        # talonsync's default --workers
LAT_WORKERS=8     # latency-hiding run (also run with 16 and 32)
LATENCY_MS=200    # emulator --latency of that run
RATE=10           # --rate of the rate-limit run
RATE_BATCH=10     # --batch-size of the rate-limit run

log() { printf '== %s\n' "$*" >&2; }

# label 1000000 -> 1m, 100000 -> 100k
label() {
	local n=$1
	if ((n % 1000000 == 0)); then echo "$((n / 1000000))m"
	elif ((n % 1000 == 0)); then echo "$((n / 1000))k"
	else echo "$n"; fi
}

# ---- build ----------------------------------------------------------------
log "build"
go build -o "$BIN" ./cmd/talonsync
go build -o "$GEN" ./bench/gen
if [[ "${BENCH_TIMER:-}" != rusage ]] && [[ -x /usr/bin/time ]] && /usr/bin/time -v true 2>/dev/null; then
	TIMER=gnu
else
	go build -o "$OUT/rusage" ./bench/rusage
	TIMER=rusage
fi

# timed FILE CMD...: run CMD, leave its resource usage in FILE.
timed() {
	local f=$1; shift
	if [[ $TIMER == gnu ]]; then
		/usr/bin/time -v -o "$f" "$@"
	else
		"$OUT/rusage" -o "$f" -- "$@"
	fi
}

# parse_time FILE: print "wall user sys maxrss_kb".
parse_time() {
	if [[ $TIMER == gnu ]]; then
		awk -F': ' '
			/User time \(seconds\)/ { u = $2 }
			/System time \(seconds\)/ { s = $2 }
			/Maximum resident set size/ { m = $2 }
			/Elapsed \(wall clock\)/ {
				n = split($NF, p, ":"); w = 0
				for (i = 1; i <= n; i++) w = w * 60 + p[i]
			}
			END { printf "%.3f %.3f %.3f %d\n", w, u, s, m }' "$1"
	else
		sed 's/[a-z_]*=//g' "$1"
	fi
}

# jnum FILE KEY: a number field of a pretty-printed JSON object.
jnum() { sed -n "s/^ *\"$2\": *\([-0-9.eE+]*\),\{0,1\}$/\1/p" "$1" | head -n1; }

# proc_cpu PID: user+sys CPU seconds of a running process.
proc_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' "/proc/$1/stat"
}

# ---- inputs -----------------------------------------------------------------
# gen_input FILE ENTITY FORMAT ROWS [GEN FLAGS...]: generate FILE if missing.
gen_input() {
	local f=$1 entity=$2 format=$3 rows=$4; shift 4
	[[ -s $f ]] && return 0
	log "generate $f"
	"$GEN" -entity "$entity" -format "$format" -rows "$rows" -seed 1 -out "$f" "$@"
}

L=$(label "$N") LB=$(label "$BIG")
P_JSONL=$DATA/profiles-$L.jsonl
P_CSV=$DATA/profiles-$L.csv
P_CSV_DUP=$DATA/profiles-dup20-$L.csv
C_CSV=$DATA/catalog-$L.csv
C_CSV_MIX=$DATA/catalog-mixed-$L.csv
A_CSV=$DATA/audiences-$L.csv
LAT_IN=$DATA/profiles-$(label "$LAT_ROWS").jsonl
RATE_IN=$DATA/profiles-$(label "$RATE_ROWS").jsonl
BIG_JSONL=$DATA/profiles-$LB.jsonl
BIG_CSVGZ=$DATA/profiles-$LB.csv.gz

gen_input "$P_JSONL" profiles jsonl "$N"
gen_input "$P_CSV" profiles csv "$N"
gen_input "$P_CSV_DUP" profiles csv "$N" -dup 0.2
gen_input "$C_CSV" catalog csv "$N"
gen_input "$C_CSV_MIX" catalog csv "$N" -mixed
gen_input "$A_CSV" audiences csv "$N"
gen_input "$LAT_IN" profiles jsonl "$LAT_ROWS"
gen_input "$RATE_IN" profiles jsonl "$RATE_ROWS"
gen_input "$BIG_JSONL" profiles jsonl "$BIG"
gen_input "$BIG_CSVGZ" profiles csv "$BIG" -gzip

# ---- runs -------------------------------------------------------------------
RUNS=$OUT/runs.tsv
FAILED=()
printf 'name\tsub\tworkers\tbatch\tread\tdelivered\trejected\tbatches\trequests\tretries\telapsed\twall\tuser\tsys\trss_kb\temu_cpu\tload1\trc\n' >"$RUNS"

# measure NAME SUBCOMMAND INPUT WORKERS BATCH [FLAGS...]: run talonsync
# against the current emulator and append one line to $RUNS.
measure() {
	local name=$1 sub=$2 input=$3 workers=$4 bsize=$5; shift 5
	local tf=$OUT/$name.time rep=$OUT/$name.report.json rc=0
	rm -f "$rep" "$OUT/$name.rejects.jsonl"
	log "run $name: talonsync $sub $input"
	local load emu0 emu1
	load=$(cut -d' ' -f1 /proc/loadavg)
	emu0=$(proc_cpu "$EMU_PID")
	TALON_API_KEY=$API_KEY timed "$tf" "$BIN" "$sub" --base-url "$EMU_URL" --progress never \
		--workers "$workers" --batch-size "$bsize" \
		--report "$rep" --rejects "$OUT/$name.rejects.jsonl" "$@" "$input" \
		>"$OUT/$name.log" 2>&1 || rc=$?
	emu1=$(proc_cpu "$EMU_PID")
	if [[ $rc != 0 || ! -s $rep ]]; then
		echo "run $name failed (exit $rc):" >&2
		tail -n 5 "$OUT/$name.log" >&2
		FAILED+=("$name (exit $rc, see $OUT/$name.log)")
		[[ -s $rep ]] || return 0
	fi
	local t lanes=$workers
	[[ $workers == auto ]] && lanes=32 # auto keeps --max-workers (default 32) lanes
	read -r -a t < <(parse_time "$tf")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
		"$name" "$sub" "$lanes" "$bsize" \
		"$(jnum "$rep" read)" "$(jnum "$rep" delivered)" "$(jnum "$rep" rejected)" \
		"$(jnum "$rep" batches)" "$(jnum "$rep" requests)" "$(jnum "$rep" retries)" \
		"$(jnum "$rep" elapsed_seconds)" "${t[0]}" "${t[1]}" "${t[2]}" "${t[3]}" \
		"$(awk -v a="$emu0" -v b="$emu1" 'BEGIN { printf "%.2f", b - a }')" "$load" "$rc" >>"$RUNS"
}

start_emulator sink
measure "profiles-$L-jsonl" profiles "$P_JSONL" "$LANES" 1000
measure "profiles-$L-csv" profiles "$P_CSV" "$LANES" 1000
measure "profiles-$L-jsonl-w4" profiles "$P_JSONL" 4 1000 # memory with 4 lanes, against auto's 32
measure "catalog-$L-csv" catalog "$C_CSV" "$LANES" 1000 --catalog-id 1
measure "audiences-$L-csv" audiences "$A_CSV" "$LANES" 1000
measure "profiles-dup20-$L-csv" profiles "$P_CSV_DUP" "$LANES" 1000
measure "catalog-mixed-$L-csv" catalog "$C_CSV_MIX" "$LANES" 1000 --catalog-id 1
measure "profiles-$LB-jsonl" profiles "$BIG_JSONL" "$LANES" 1000
measure "profiles-$LB-csv.gz" profiles "$BIG_CSVGZ" "$LANES" 1000
measure "rate-$RATE" profiles "$RATE_IN" "$LANES" "$RATE_BATCH" --rate "$RATE"

# ---- resume cost ---------------------------------------------------------------
# A full checkpointed run of the 1M profiles JSONL, then a run stopped by
# SIGINT once 90% of the rows reached the sink, then its resume: the resume
# should cost at most 15% of the full run's time.
applied() { curl -s "$EMU_URL/emulator/stats" | sed -n 's/.*"items_applied": *\([0-9]*\).*/\1/p'; }
CKPT=$OUT/resume.ckpt
rm -f "$CKPT" "$CKPT.lock"
measure "resume-full" profiles "$P_JSONL" "$LANES" 1000 --checkpoint "$CKPT"
rm -f "$CKPT" "$CKPT.lock" "$OUT/resume-90.rejects.jsonl"
log "run resume-90: stop at 90%"
base=$(applied)
TALON_API_KEY=$API_KEY "$BIN" profiles --base-url "$EMU_URL" --progress never --checkpoint "$CKPT" \
	--rejects "$OUT/resume-90.rejects.jsonl" "$P_JSONL" >"$OUT/resume-stop.log" 2>&1 &
RUN_PID=$!
while kill -0 "$RUN_PID" 2>/dev/null; do
	now=$(applied)
	if ((now - base >= N * 9 / 10)); then
		kill -INT "$RUN_PID"
		break
	fi
	sleep 0.02
done
wait "$RUN_PID" || true
measure "resume-90" profiles "$P_JSONL" "$LANES" 1000 --checkpoint "$CKPT"

# A 20% share of 429 answers with Retry-After 1s: the run slows down (every
# 429 pauses all lanes for a second) and still delivers every row.
start_emulator throttled --fail-429 0.2 --retry-after 1s --seed 1
measure "throttled-429-20pct" profiles "$LAT_IN" "$LANES" 1000 --max-retries 20

start_emulator latency --latency "${LATENCY_MS}ms"
for w in $LAT_WORKERS 16 32 auto; do
	measure "latency-${LATENCY_MS}ms-w$w" profiles "$LAT_IN" "$w" 1000
done

# ---- micro-benchmarks ----------------------------------------------------------
MICRO=$OUT/micro.txt
if [[ "${SKIP_MICRO:-0}" != 1 ]]; then
	log "go test -bench"
	go test -run '^$' -bench . -benchmem -benchtime "${BENCHTIME:-1s}" \
		./internal/readers ./internal/talon ./internal/talon/emulator ./internal/batch >"$MICRO" 2>&1 ||
		echo "go test -bench failed, see $MICRO" >&2
else
	: >"$MICRO"
fi

# ---- report -------------------------------------------------------------------
RESULTS=$OUT/results.md
{
	echo "# talonsync benchmark ($MODE)"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown) ($(git status --porcelain 2>/dev/null | wc -l | tr -d ' ') changed paths in the work tree)"
	echo "- machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, $(go version | cut -d' ' -f3-)"
	echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (talonsync and the emulator share the CPUs with anything else running)"
	for f in "${FAILED[@]}"; do echo "- **failed run: $f**"; done
	echo "- timer: $TIMER; talonsync --workers $LANES --batch-size 1000 --progress never unless stated; sink: talonsync emulator --discard"
	echo
	awk -F'\t' -v lanes="$LANES" -v latms="$LATENCY_MS" -v rate="$RATE" '
	function ceil(x) { return x == int(x) ? x : int(x) + 1 }
	function mib(kb) { return kb / 1024 }
	NR == 1 { next }
	{
		name[NR] = $1; n = NR
		for (i = 2; i <= NF; i++) v[NR, i] = $i
	}
	END {
		print "## Throughput and memory"
		print ""
		print "| run | rows | wall s | rows/s | CPU s per M rows | peak RSS MiB | requests (min) | batch fill | emulator CPU s | load1 | exit |"
		print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		for (r = 2; r <= n; r++) {
			if (name[r] ~ /^(rate|latency|resume|throttled)-/) continue
			read = v[r, 5]; wall = v[r, 12]; cpu = v[r, 13] + v[r, 14]
			fill = v[r, 8] > 0 ? v[r, 6] / (v[r, 8] * v[r, 4]) * 100 : 0
			printf "| %s | %d | %.2f | %.0f | %.2f | %.1f | %d (%d) | %.1f%% | %.2f | %s | %s |\n",
				name[r], read, wall, read / wall, cpu / read * 1e6, mib(v[r, 15]),
				v[r, 9], ceil(read / v[r, 4]), fill, v[r, 16], v[r, 17], v[r, 18]
			rows[name[r]] = r
		}
		print ""
		print "## Latency hiding and rate limit"
		print ""
		print "| run | rows | workers | batch size | requests | elapsed s | ideal s | figure |"
		print "|---|---:|---:|---:|---:|---:|---:|---|"
		for (r = 2; r <= n; r++) {
			if (name[r] ~ /^latency-/) {
				b = ceil(v[r, 5] / v[r, 4]); ideal = ceil(b / v[r, 3]) * latms / 1000
				latratio = v[r, 11] / ideal
				latname[++nlat] = name[r]; latr[nlat] = latratio
				printf "| %s | %d | %d | %d | %d | %.2f | %.2f | ratio %.3f (elapsed / ceil(%d/%d) x %.1fs) |\n",
					name[r], v[r, 5], v[r, 3], v[r, 4], v[r, 9], v[r, 11], ideal, latratio, b, v[r, 3], latms / 1000
			}
			if (name[r] ~ /^throttled-/) {
				thr = r
				printf "| %s | %d | %d | %d | %d | %.2f | - | %d of %d rows delivered, %d retries, %.0f rows/s |\n",
					name[r], v[r, 5], v[r, 3], v[r, 4], v[r, 9], v[r, 11], v[r, 6], v[r, 5], v[r, 10], v[r, 5] / v[r, 11]
			}
			if (name[r] == "resume-full") full = r
			if (name[r] == "resume-90" && full) {
				resratio = v[r, 12] / v[full, 12]
				printf "| resume of a 90%%-done run | %d | %d | %d | %d | %.2f | %.2f | %.1f%% of the full checkpointed run (%.2f s) |\n",
					v[r, 5], v[r, 3], v[r, 4], v[r, 9], v[r, 12], v[full, 12], resratio * 100, v[full, 12]
			}
			if (name[r] ~ /^rate-/) {
				achieved = v[r, 9] / v[r, 11]; rateerr = (achieved / rate - 1) * 100
				printf "| %s | %d | %d | %d | %d | %.2f | %.2f | %.2f req/s (%+.1f%% vs --rate %d) |\n",
					name[r], v[r, 5], v[r, 3], v[r, 4], v[r, 9], v[r, 11], v[r, 9] / rate, achieved, rateerr, rate
			}
		}
		print ""
		print "## Targets"
		print ""
		print "| target | measured | status |"
		print "|---|---|---|"
		for (r = 2; r <= n; r++) {
			if (name[r] ~ /^(rate|latency|resume|throttled)-/) continue
			read = v[r, 5]; rps = read / v[r, 12]
			if (name[r] ~ /^profiles-[0-9]+[km]-jsonl$/ && !jsonl1) {
				jsonl1 = r
				st(">= 400k rows/s, " name[r], sprintf("%.0f rows/s", rps), rps >= 400000)
			}
			if (name[r] ~ /^(profiles|catalog|audiences)-[0-9]+[km]-csv$/) {
				st(">= 250k rows/s, " name[r], sprintf("%.0f rows/s", rps), rps >= 250000)
			}
		}
		for (r = 2; r <= n; r++) {
			if (name[r] ~ /^(rate|latency|resume|throttled)-/) continue
			if (r == jsonl1 || name[r] ~ /^(profiles|catalog|audiences)-[0-9]+[km]-csv$/)
				st("peak RSS <= 64 MiB, " name[r], sprintf("%.1f MiB", mib(v[r, 15])), mib(v[r, 15]) <= 64)
		}
		# The 5M (or QUICK 500k) runs: RSS against the 1M run of the same format.
		for (r = 2; r <= n; r++) {
			if (name[r] !~ /^profiles-[0-9]+[km]-(jsonl|csv\.gz)$/ || r == jsonl1) continue
			base = name[r] ~ /jsonl$/ ? jsonl1 : csv1()
			if (base) {
				ratio = v[r, 15] / v[base, 15]
				st("flat RSS: " name[r] " vs " name[base], sprintf("%.1f vs %.1f MiB (x%.2f)", mib(v[r, 15]), mib(v[base, 15]), ratio), ratio <= 1.10 && mib(v[r, 15]) <= 64)
			}
		}
		# The dup20 and mixed runs are extra: no issue target applies to them.
		for (r = 2; r <= n; r++) {
			if (name[r] ~ /^(rate|latency|resume|throttled)-|dup|mixed/) continue
			lim = ceil(v[r, 5] / v[r, 4]) + v[r, 3]
			st("requests <= ceil(rows/1000)+lanes, " name[r], sprintf("%d <= %d", v[r, 9], lim), v[r, 9] <= lim)
		}
		for (r = 2; r <= n; r++) {
			if (name[r] ~ /^(rate|latency|resume|throttled)-|dup|mixed/) continue
			fill = v[r, 8] > 0 ? v[r, 6] / (v[r, 8] * v[r, 4]) * 100 : 0
			st("batch fill >= 97%, " name[r], sprintf("%.1f%%", fill), fill >= 97)
		}
		for (i = 1; i <= nlat; i++) st("latency-hiding ratio <= 1.15, " latname[i], sprintf("%.3f", latr[i]), latr[i] <= 1.15)
		if (rate) st("rate within 5%", sprintf("%+.1f%%", rateerr), rateerr <= 5 && rateerr >= -5)
		if (thr) st("20% 429: nothing lost", sprintf("%d of %d delivered", v[thr, 6], v[thr, 5]), v[thr, 6] == v[thr, 5])
		if (resratio) st("resume of a 90%-done run <= 15% of a full run", sprintf("%.1f%%", resratio * 100), resratio <= 0.15)
	}
	function csv1(   r) { for (r = 2; r <= n; r++) if (name[r] ~ /^profiles-[0-9]+[km]-csv$/) return r; return 0 }
	function st(t, m, ok) { printf "| %s | %s | %s |\n", t, m, ok ? "met" : "**missed**" }
	' "$RUNS"
	echo
	echo "Rows/s is rows read / process wall time; CPU is talonsync's user+sys; the"
	echo "emulator's CPU is shown apart (it shares the machine). Batch fill is"
	echo "delivered / (batches x batch size). Ideal latency time is"
	echo "ceil(batches/workers) x latency. \"Flat RSS\" means the big run peaks"
	echo "within 10% of the small run of the same format (and <= 64 MiB). The"
	echo "dup20 (20% repeated keys) and mixed (ADD/PATCH/REMOVE) runs are extra"
	echo "context with no target. Raw figures: bench/out/runs.tsv."
	echo
	if [[ -s $MICRO ]]; then
		echo "## Go micro-benchmarks"
		echo
		echo '```'
		grep -E '^(Benchmark|ok|FAIL|cpu:)' "$MICRO" || true
		echo '```'
	fi
} >"$RESULTS"

cat "$RESULTS"
echo >&2
log "wrote $RESULTS"
