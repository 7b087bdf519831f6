# bench/lib.sh: what bench/run.sh and bench/state.sh share: the paths, and
# discard emulators on free loopback ports, stopped on exit. Sourced from
# the repository root.
OUT=bench/out
DATA=bench/data
BIN=$OUT/talonsync
GEN=$OUT/gen
API_KEY=emulator-key # the emulator's default test key, not a secret
mkdir -p "$OUT" "$DATA"

PIDS=()
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_emulator NAME [FLAGS...]: start a discard emulator on a free port;
# sets EMU_URL and EMU_PID.
start_emulator() {
	local name=$1; shift
	local elog=$OUT/emulator-$name.log
	"$BIN" emulator --discard --addr 127.0.0.1:0 --api-key "$API_KEY" "$@" >"$elog" 2>&1 &
	EMU_PID=$!
	PIDS+=("$EMU_PID")
	EMU_URL=
	for _ in $(seq 100); do
		EMU_URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$elog")
		[[ -n $EMU_URL ]] && return 0
		kill -0 "$EMU_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "emulator $name did not start:" >&2
	cat "$elog" >&2
	exit 1
}
