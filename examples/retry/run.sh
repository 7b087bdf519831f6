#!/usr/bin/env bash
# A worked retry against the local emulator, whose Application has no
# LoyaltyTier attribute yet:
#   1. the sync delivers the rows without a tier and leaves three in the
#      rejects file (the API does not know LoyaltyTier) and one more
#      (Age "eighty" is not a number, rejected while reading);
#   2. the attribute is created (here: PUT /emulator/schema; in Talon.One:
#      Account > Tools > Attributes);
#   3. `talonsync retry` sends the three API rejects again, in line order
#      per profile, lists and skips the input reject, and leaves only that
#      one in profiles-tier.csv.rejects.retry.jsonl (exit 3).
# Needs talonsync on PATH (or $TALONSYNC) and curl. Works in a temporary
# directory; exits non-zero if anything is not as described.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
talonsync=${TALONSYNC:-talonsync}
work=$(mktemp -d)
emulator_pid=
cleanup() {
  if [ -n "$emulator_pid" ]; then kill "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cp "$here/profiles-tier.csv" "$work/"
cd "$work"

"$talonsync" emulator --addr 127.0.0.1:0 --api-key example-key --schema "$here/schema-before.json" >emulator.log 2>&1 &
emulator_pid=$!
for _ in $(seq 100); do
  url=$(sed -n 's/^talonsync emulator listening on \(http[^ ]*\).*/\1/p' emulator.log)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { cat emulator.log; exit 1; }
export TALON_BASE_URL=$url TALON_API_KEY=example-key

echo "\$ talonsync profiles profiles-tier.csv"
code=0; "$talonsync" profiles --progress never profiles-tier.csv 2>&1 || code=$?
[ "$code" = 3 ] || { echo "expected exit 3, got $code"; exit 1; }
echo "\$ cat profiles-tier.csv.rejects.jsonl"
cat profiles-tier.csv.rejects.jsonl

echo "# create the LoyaltyTier attribute"
curl -fsS -X PUT --data @"$here/schema-after.json" "$url/emulator/schema"

echo "\$ talonsync retry profiles-tier.csv.rejects.jsonl"
code=0; "$talonsync" retry --progress never profiles-tier.csv.rejects.jsonl 2>&1 || code=$?
[ "$code" = 3 ] || { echo "expected exit 3 (the input reject stays), got $code"; exit 1; }
echo "\$ cat profiles-tier.csv.rejects.retry.jsonl"
cat profiles-tier.csv.rejects.retry.jsonl

echo "\$ curl $url/emulator/state"
curl -fsS "$url/emulator/state"
echo
