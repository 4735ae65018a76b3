#!/usr/bin/env bash
# Exactly-once after kill -9 (issue 20), the issue's own scenario: ROWS
# transaction rows (bench/cmd/gencsv) through examples/add_transactions.yaml
# against a standalone `connectplus sandbox` with 2–20 ms latency; first one
# unkilled run (the baseline), then the same file on a fresh sandbox with
# `connectplus run` SIGKILLed KILLS times at random moments (each once the
# run saved progress of its own, then a seeded random wait) and started
# again on the same --checkpoint-dir until it finishes.
# Prints: lost and duplicate arrivals (/_sandbox/stats), the final exit code,
# result rows that are not a delivery, lookups per kill and the seconds the
# kills added to the baseline. Exits non-zero unless 0 lost, 0 duplicates,
# exit 0 and every posted row delivered.
# Usage: bench/killrun.sh [ROWS] [KILLS] [SEED]   (default 200000 8 20)
# (The variant with faults, under the server, is the CI test
# `go test -run TestKill9TwentyKillsWithFaults ./e2e/`: the example flow
# retries no 5xx, so faults here would fail records by design.)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-200000}
KILLS=${2:-8}
SEED=${3:-20}
RANDOM=$SEED
d=$(mktemp -d /tmp/cp-killrun.XXXXXX)
SB=
RUN=
cleanup() {
  [ -n "$RUN" ] && kill -9 "$RUN" 2>/dev/null || true
  [ -n "$SB" ] && kill "$SB" 2>/dev/null || true
  rm -rf "$d"
}
trap cleanup EXIT
go build -o "$d/connectplus" ./cmd/connectplus
go run ./bench/cmd/gencsv -rows "$ROWS" -seed "$SEED" -o "$d/tx.csv"
expected=$(python3 -c 'import csv,sys; r=csv.DictReader(open(sys.argv[1])); print(sum(1 for x in r if x["status"] in ("paid","refunded")))' "$d/tx.csv")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$d/connectplus" sandbox --listen "127.0.0.1:$port" --faults "seed=$SEED" --faults "latency=2ms-20ms" > "$d/sandbox.log" 2>&1 &
SB=$!
URL="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$URL/_sandbox/health" >/dev/null && break; sleep 0.1; done
sed -e "s#/tmp/connectplus-demo#$d#g" -e "s#https://eu.api.capillarytech.com#$URL#g" examples/add_transactions.yaml > "$d/flow.yaml"

now() { date +%s.%N; }
# runargs CHECKPOINT_DIR RESULT_DIR
runargs() { echo run "$d/flow.yaml" --input "$d/tx.csv" --result-dir "$2" --checkpoint-dir "$1" --no-progress \
  --config capillary_client_key=sandbox-key --config capillary_client_secret=sandbox-secret; }
# watermark CHECKPOINT_DIR: the highest checkpoint watermark saved there.
watermark() { python3 - "$1" <<'PY'
import glob, json, sys
best = 0
for f in glob.glob(sys.argv[1] + "/*.json"):
    try:
        c = json.load(open(f)).get("checkpoint") or {}
        best = max(best, c.get("watermark", 0))
    except Exception:
        pass
print(best)
PY
}
# stats: accepted duplicates lookups
stats() { curl -s "$URL/_sandbox/stats" | python3 -c '
import json, sys
s = json.load(sys.stdin)
lk = s.get("requests", {}).get("GET /v2/transactions/getByBillNumber/{bill}", {})
print(s["acceptedEntities"], s["duplicates"], sum(lk.values()), s.get("idempotentReplays", 0))'; }
# results DIR: result rows that are not a delivery, rows with an entity id.
results() { python3 - "$1" <<'PY'
import csv, glob, sys
files = glob.glob(sys.argv[1] + "/result_*_tx.csv")
assert len(files) == 1, files
bad = ids = 0
for r in csv.DictReader(open(files[0])):
    if r["status_code"] not in ("", "200"):
        bad += 1
    if r["entity_id"]:
        ids += 1
print(bad, ids)
PY
}

# 1. The baseline: one run, never killed.
mkdir -p "$d/base"
t0=$(now)
# shellcheck disable=SC2046
"$d/connectplus" $(runargs "$d/base/cp" "$d/base") > "$d/base.out" 2>&1 &
RUN=$!
# The time to the first saved progress is what every start costs (the
# file source's 2 s stabilityWait, the token, the first requests).
until [ "$(watermark "$d/base/cp")" -gt 0 ] || ! kill -0 "$RUN" 2>/dev/null; do sleep 0.005; done
startup=$(echo "$(now) - $t0" | bc -l)
wait "$RUN" || { cat "$d/base.out"; exit 1; }
RUN=
base=$(echo "$(now) - $t0" | bc -l)
read -r b_acc b_dup _ _ < <(stats)
printf 'baseline: %d rows (%d posted) in %.1f s (first progress after %.2f s), sandbox accepted %d, duplicates %d\n' "$ROWS" "$expected" "$base" "$startup" "$b_acc" "$b_dup"
curl -sf -XPOST "$URL/_sandbox/reset" > /dev/null

# 2. The same file, killed KILLS times.
mkdir -p "$d/kill"
cp="$d/kill/cp"
# Kills spread over about the baseline's duration: after progress of its
# own, each run lives a further random 0..(baseline/(KILLS+1)) seconds.
span_ms=$(echo "$base * 1000 / ($KILLS + 1)" | bc)
restarts=0
t0=$(now)
for k in $(seq "$KILLS"); do
  from=$(watermark "$cp")
  # shellcheck disable=SC2046
  "$d/connectplus" $(runargs "$cp" "$d/kill") > "$d/kill.out" 2>&1 &
  RUN=$!
  ts=$(now)
  until [ "$(watermark "$cp")" -gt "$from" ]; do
    kill -0 "$RUN" 2>/dev/null || { echo "run $k ended before its kill:"; cat "$d/kill.out"; exit 1; }
    sleep 0.005
  done
  restarts=$(echo "$restarts + $(now) - $ts" | bc -l)
  wait_ms=$(( (RANDOM * 32768 + RANDOM) % (span_ms + 1) ))
  sleep "$(echo "$wait_ms / 1000" | bc -l)"
  kill -0 "$RUN" 2>/dev/null || { echo "run $k finished before its kill (fewer rows or kills needed)"; cat "$d/kill.out"; exit 1; }
  kill -9 "$RUN"
  wait "$RUN" 2>/dev/null || true
  RUN=
  printf 'kill %d at %.1f s: watermark %d → %d\n' "$k" "$(echo "$(now) - $t0" | bc -l)" "$from" "$(watermark "$cp")"
done
code=0
# shellcheck disable=SC2046
"$d/connectplus" $(runargs "$cp" "$d/kill") > "$d/kill.out" 2>&1 || code=$?
total=$(echo "$(now) - $t0" | bc -l)
read -r acc dup lookups replays < <(stats)
read -r bad ids < <(results "$d/kill")
lost=$((expected - acc))
[ $lost -lt 0 ] && lost=0
printf 'killed %d times: %.1f s in all (%.1f s more than the baseline), final exit %d\n' "$KILLS" "$total" "$(echo "$total - $base" | bc -l)" "$code"
printf 'restarts: %.1f s from start to first progress in all (%.2f s each; the baseline start took %.2f s)\n' "$restarts" "$(echo "$restarts / $KILLS" | bc -l)" "$startup"
printf 'sandbox: accepted %d of %d (lost %d), duplicate arrivals %d, idempotent replays %d\n' "$acc" "$expected" "$lost" "$dup" "$replays"
printf 'resolution: %d lookups, %.1f per kill\n' "$lookups" "$(echo "$lookups / $KILLS" | bc -l)"
printf 'result file: %d rows not a delivery, %d with an entity id (want %d)\n' "$bad" "$ids" "$expected"
[ "$code" -eq 0 ] && [ "$lost" -eq 0 ] && [ "$dup" -eq 0 ] && [ "$acc" -eq "$expected" ] && [ "$bad" -eq 0 ] && [ "$ids" -eq "$expected" ] || { tail -20 "$d/kill.out"; exit 1; }
echo "exactly once: 0 lost, 0 duplicates"
