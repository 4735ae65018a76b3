#!/usr/bin/env bash
# The API-destination pipeline: CSV → convert_csv_to_json (groupSize 100) →
# jslt_transform (bulk, ~10 fields) → filter_on_condition (paid) → http_write
# bulk to a fast local sink. Called by bench/run.sh: api.sh BIN FILE ROWS WORK
set -euo pipefail
BIN=$1 FILE=$2 ROWS=$3 WORK=$4
d="$WORK/api-$ROWS"; mkdir -p "$d"
go build -o "$d/sink" ./bench/cmd/sink
GOGC=1000 "$d/sink" -addr-file "$d/addr" 2>/dev/null & SINK=$!
trap 'kill $SINK 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$d/addr" ] && break; sleep 0.1; done
URL="http://$(cat "$d/addr")"
sed -e "s#/tmp/connectplus-demo#$d#g" -e "s#https://eu.api.capillarytech.com#$URL#g" \
    -e 's#rate: .*#rate: "1000000000"#' examples/add_transactions.yaml > "$d/flow.yaml"
# The example has no rate settings of its own: allow the sink's full speed.
grep -q '^      rate:' "$d/flow.yaml" || sed -i 's#^      apiEndPoint: /v2/transactions/bulk#      apiEndPoint: /v2/transactions/bulk\n      rate: "100000000"\n      period: "1"\n      timeUnit: SECONDS#' "$d/flow.yaml"
/usr/bin/time -f "%e %M" -o "$d/time" "$BIN" run "$d/flow.yaml" --input "$FILE" --result-dir "$d" --checkpoint-dir "$d/cp" --no-progress \
  --config capillary_client_key=bench --config capillary_client_secret=bench > "$d/out" 2>&1 || { cat "$d/out"; exit 1; }
read -r secs kb < "$d/time"
posted=$(curl -s "$URL/stats" | sed 's/.*"records":\([0-9]*\).*/\1/')
printf '%-28s %9d rows  %7.2f s  %10.0f records/s  peak RSS %6.1f MB  (%s records posted)\n' "csv→jslt→filter→http bulk" "$ROWS" "$secs" "$(echo "$ROWS / $secs" | bc -l)" "$(echo "$kb / 1024" | bc -l)" "$posted"
rm -rf "$d"
