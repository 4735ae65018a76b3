#!/usr/bin/env bash
# Reconciliation at scale (issue 20): ROWS transactions are ingested into a
# standalone `connectplus sandbox` (which then holds ROWS entities), a few
# are lost on purpose (every 1000th), and diff_tool reconciles the same
# ROWS-row file against the sandbox's batched lookup. Prints the
# reconciliation's wall time and peak RSS (/usr/bin/time) and checks that
# exactly the lost bills are marked 0.  Usage: bench/reconcile.sh [ROWS]
set -euo pipefail
ROWS=${1:-1000000}
d=$(mktemp -d /tmp/cp-reconcile-bench.XXXXXX)
trap 'kill $SB 2>/dev/null || true; rm -rf "$d"' EXIT
go build -o "$d/connectplus" ./cmd/connectplus
go run ./bench/cmd/gencsv -rows "$ROWS" -o "$d/bills.csv"
mkdir -p "$d/in" "$d/done" "$d/err" "$d/rin" "$d/rdone" "$d/rerr" "$d/results" "$d/reports"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$d/connectplus" sandbox --listen "127.0.0.1:$port" --client-key bench --client-secret bench > "$d/sandbox.log" 2>&1 & SB=$!
URL="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$URL/_sandbox/health" >/dev/null && break; sleep 0.1; done
cat > "$d/ingest.yaml" <<YAML
name: ingest
blocks:
  - {type: file_read, name: read, config: {sourceDirectory: $d/in, processedDirectory: $d/done, apiErrorFilePath: $d/err, fileRegex: '.*\.csv'}, relations: [convert]}
  - {type: convert_csv_to_json, name: convert, config: {groupSize: 1000}, relations: [transform]}
  - type: jslt_transform
    name: transform
    config:
      sendEachRecordSeparately: "false"
      transformation: '[ for (.) {"billNumber": .bill_number, "billingDate": replace(.bill_date, " ", "T") + "Z", "type": "REGULAR", "billAmount": number(.bill_amount), "identifierType": "mobile", "identifierValue": .mobile, "source": "INSTORE"} ]'
    relations: [post]
  - type: http_write
    name: post
    config: {clientKey: bench, clientSecret: {\$config: s}, apiBaseUrl: "$URL", oAuthBaseUrl: "$URL", apiEndPoint: /v2/transactions/bulk, bulkSupport: "true", concurrency: 2,
             rate: "100000000", period: "1", timeUnit: SECONDS, parseResponse: "true", responseSplitPath: "\$.response[*]", parsePathMap: '{"status_code": "\$.errors[0].code", "entity_id": "\$.entityId"}'}
YAML
cat > "$d/reconcile.yaml" <<YAML
name: reconcile
blocks:
  - {type: file_read, name: read, config: {sourceDirectory: $d/rin, processedDirectory: $d/rdone, apiErrorFilePath: $d/rerr, fileRegex: '.*\.csv'}, relations: [map_fields]}
  - type: diff_tool
    name: map_fields
    config:
      fileTemplate: '{"regular_transaction_line_items": {"bill_number": "bill_number", "customer_identifier": "mobile", "bill_amount": "bill_amount"}}'
      diffPath: $d/results
      minimumYear: "2000"
      apiBaseUrl: "$URL"
      lookupMode: sandbox
    relations: [results, {to: reports, on: report}]
  - {type: file_write, name: results, config: {remotePath: $d/results, createRemoteDirectory: "true", conflictResolution: REPLACE}}
  - {type: file_write, name: reports, config: {remotePath: $d/reports, createRemoteDirectory: "true", conflictResolution: REPLACE}}
YAML
t0=$(date +%s.%N)
"$d/connectplus" run "$d/ingest.yaml" --input "$d/bills.csv" --checkpoint-dir "$d/cp1" --no-progress --config s=bench > "$d/ingest.out" 2>&1 || { cat "$d/ingest.out"; exit 1; }
printf 'ingested %d rows in %.1f s\n' "$ROWS" "$(echo "$(date +%s.%N) - $t0" | bc -l)"
curl -s -XPOST "$URL/_sandbox/lose" -d '{"kind":"transaction","every":1000}' | python3 -c 'import json,sys; print("lost", json.load(sys.stdin)["count"], "entities on purpose")'
curl -s "$URL/_sandbox/stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); print("sandbox holds", s["entities"].get("transaction"), "transactions")'
/usr/bin/time -f "%e %M" -o "$d/time" "$d/connectplus" run "$d/reconcile.yaml" --input "$d/bills.csv" --checkpoint-dir "$d/cp2" --no-progress > "$d/reconcile.out" 2>&1 || { cat "$d/reconcile.out"; exit 1; }
read -r secs kb < "$d/time"
python3 - "$d/reports/reconciliation_bills.json" <<'PY'
import json,sys; r=json.load(open(sys.argv[1])); print("report:", r["source"], json.dumps(r["totals"]), "lookup requests:", r["lookupRequests"])
PY
zeros=$(awk -F, 'NR>1 && $NF=="0"' "$d/results/bills.csv" | wc -l)
printf 'reconciled %d rows against %d entities: %.1f s, peak RSS %.1f MB, %d rows marked 0\n' "$ROWS" "$ROWS" "$secs" "$(echo "$kb / 1024" | bc -l)" "$zeros"
