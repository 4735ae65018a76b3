#!/usr/bin/env bash
# CPU and allocation profiles of the flagship API job (as bench/compare.sh runs
# it) against the loopback sink, and their top frames.
# Usage: bench/profile.sh [ROWS] [OUTDIR]     (default 1000000, bench/data/profile)
# Environment: BIN=path to a connectplus binary (default: built here, PGO=auto);
# TOP=10 frames printed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
OUT=${2:-bench/data/profile}
TOP=${TOP:-10}
DATA=${DATA:-bench/data}
WORK=$(mktemp -d /tmp/connectplus-profile-XXXX)
trap 'kill "${SINK:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
mkdir -p "$OUT" "$DATA"
BIN=${BIN:-}
if [ -z "$BIN" ]; then
  BIN="$WORK/connectplus"
  go build -pgo="${PGO:-auto}" -o "$BIN" ./cmd/connectplus
fi
go build -o "$WORK/sink" ./bench/cmd/sink
FILE="$DATA/tx$ROWS.csv"
[ -s "$FILE" ] || go run ./bench/cmd/gencsv -rows "$ROWS" -o "$FILE"

GOGC=1000 "$WORK/sink" -addr-file "$WORK/addr" 2>/dev/null & SINK=$!
for _ in $(seq 100); do [ -s "$WORK/addr" ] && break; sleep 0.05; done
URL="http://$(cat "$WORK/addr")"
sed -e "s#/tmp/connectplus-demo#$WORK/demo#g" -e "s#https://eu.api.capillarytech.com#$URL#g" examples/add_transactions.yaml > "$WORK/flow.yaml"
sed -i 's#^      apiEndPoint: /v2/transactions/bulk#      apiEndPoint: /v2/transactions/bulk\n      rate: "100000000"\n      period: "1"\n      timeUnit: SECONDS#' "$WORK/flow.yaml"

run() { # extra flags…
  "$BIN" run "$WORK/flow.yaml" --input "$FILE" --result-dir "$WORK" --checkpoint-dir "$WORK/cp" --work-dir "$WORK" \
    --no-progress --config capillary_client_key=bench --config capillary_client_secret=bench "$@" > "$WORK/out" 2>&1 ||
    { cat "$WORK/out"; exit 1; }
  rm -f "$WORK"/result_*
}
# Separate runs: the allocation profile's sampling would skew the CPU one.
run --cpuprofile "$OUT/cpu.pprof"
run --memprofile "$OUT/mem.pprof"
echo "== CPU, top $TOP by flat ($OUT/cpu.pprof)"
go tool pprof -top -nodecount="$TOP" "$BIN" "$OUT/cpu.pprof" 2>/dev/null | sed -n '1,/flat%/d;p' | head -"$TOP"
echo "== CPU, top $TOP by cumulative"
go tool pprof -top -cum -nodecount="$TOP" "$BIN" "$OUT/cpu.pprof" 2>/dev/null | sed -n '1,/flat%/d;p' | head -"$TOP"
echo "== allocations, top $TOP by bytes ($OUT/mem.pprof)"
go tool pprof -sample_index=alloc_space -top -nodecount="$TOP" "$BIN" "$OUT/mem.pprof" 2>/dev/null | sed -n '1,/flat%/d;p' | head -"$TOP"
echo "== allocations, top $TOP by count"
go tool pprof -sample_index=alloc_objects -top -nodecount="$TOP" "$BIN" "$OUT/mem.pprof" 2>/dev/null | sed -n '1,/flat%/d;p' | head -"$TOP"
cp "$BIN" "$OUT/connectplus"
