#!/usr/bin/env bash
# Whole-pipeline benchmarks on generated Capillary-style transaction files.
# Usage: bench/run.sh [rows...]   (default: 1000000 5000000)
# Prints records/s and peak RSS per run; needs /usr/bin/time (GNU time).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/connectplus}
DATA=${DATA:-bench/data}
WORK=${WORK:-$(mktemp -d /tmp/connectplus-bench-XXXX)}
mkdir -p "$DATA"
[ -x "$BIN" ] || go build -o "$BIN" ./cmd/connectplus
rows=("$@")
[ ${#rows[@]} -gt 0 ] || rows=(1000000 5000000)

measure() { # name rows cmd...
  local name=$1 n=$2; shift 2
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" > "$WORK/out" 2>&1 || { cat "$WORK/out"; return 1; }
  read -r secs kb < "$WORK/time"
  printf '%-28s %9d rows  %7.2f s  %10.0f records/s  peak RSS %6.1f MB\n' "$name" "$n" "$secs" "$(echo "$n / $secs" | bc -l)" "$(echo "$kb / 1024" | bc -l)"
}

for n in "${rows[@]}"; do
  f="$DATA/tx$n.csv"
  [ -s "$f" ] || go run ./bench/cmd/gencsv -rows "$n" -o "$f"
  d="$WORK/jsonl-$n"; mkdir -p "$d"
  sed "s#/tmp/connectplus-demo#$d#g" examples/csv_to_jsonl.yaml > "$d/flow.yaml"
  measure "csv→json→jsonl (group 100)" "$n" "$BIN" run "$d/flow.yaml" --input "$f" --result-dir "$d" --checkpoint-dir "$d/cp" --no-progress
  rm -rf "$d"
  if [ -x bench/api.sh ]; then bench/api.sh "$BIN" "$f" "$n" "$WORK"; fi
done
rm -rf "$WORK"
