#!/usr/bin/env bash
# The flagship API job as a Live dataflow under `connectplus server` against
# `connectplus run`, interleaved on the same file (bench/cmd/serverbench).
# Usage: bench/server.sh [ROWS]     (default 1000000; N=3 reps)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
N=${N:-3}
DATA=${DATA:-bench/data}
WORK=$(mktemp -d /tmp/connectplus-serverbench-XXXX)
trap 'kill "${SINK:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
go build -pgo="${PGO:-auto}" -o "$WORK/connectplus" ./cmd/connectplus
go build -o "$WORK/sink" ./bench/cmd/sink
go build -o "$WORK/serverbench" ./bench/cmd/serverbench
mkdir -p "$DATA"
FILE="$DATA/tx$ROWS.csv"
[ -s "$FILE" ] || go run ./bench/cmd/gencsv -rows "$ROWS" -o "$FILE"
cat "$FILE" > /dev/null
GOGC=1000 "$WORK/sink" -addr-file "$WORK/addr" 2>/dev/null & SINK=$!
for _ in $(seq 100); do [ -s "$WORK/addr" ] && break; sleep 0.05; done
"$WORK/serverbench" -bin "$WORK/connectplus" -in "$FILE" -sink "http://$(cat "$WORK/addr")" -n "$N"
