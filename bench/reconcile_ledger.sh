#!/usr/bin/env bash
# Reconciliation against our own delivery ledger at scale (issue 20): a
# ROWS-row transaction file and a ledger result file for it (what an
# ingestion run records: the source columns plus status_code,
# error_message, entity_id; every 1000th row failed with 604), then
# diff_tool compareWith=ledger reconciles the file under /usr/bin/time.
# Prints wall time and peak RSS and checks that exactly the failed rows are
# marked 0.  Usage: bench/reconcile_ledger.sh [ROWS] [CONNECTPLUS_BINARY]
set -euo pipefail
ROWS=${1:-1000000}
d=$(mktemp -d /tmp/cp-reconcile-ledger.XXXXXX)
trap 'rm -rf "$d"' EXIT
BIN=${2:-}
if [ -z "$BIN" ]; then BIN="$d/connectplus"; go build -o "$BIN" ./cmd/connectplus; fi
go run ./bench/cmd/gencsv -rows "$ROWS" -o "$d/bills.csv"
mkdir -p "$d/ledger" "$d/rin" "$d/rdone" "$d/rerr" "$d/results" "$d/reports"
awk -F, 'NR==1 {print $0 ",status_code,error_message,entity_id"; next}
  (NR-1) % 1000 == 0 {print $0 ",604,Duplicate bill number,"; next}
  {print $0 ",200,," 100000000+NR}' "$d/bills.csv" > "$d/ledger/result_20261207120000_bills.csv"
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
      compareWith: ledger
      ledgerPath: $d/ledger
    relations: [results, {to: reports, on: report}]
  - {type: file_write, name: results, config: {remotePath: $d/results, createRemoteDirectory: "true", conflictResolution: REPLACE}}
  - {type: file_write, name: reports, config: {remotePath: $d/reports, createRemoteDirectory: "true", conflictResolution: REPLACE}}
YAML
/usr/bin/time -f "%e %M" -o "$d/time" "$BIN" run "$d/reconcile.yaml" --input "$d/bills.csv" --checkpoint-dir "$d/cp" --no-progress > "$d/reconcile.out" 2>&1 || { cat "$d/reconcile.out"; exit 1; }
read -r secs kb < "$d/time"
python3 - "$d/reports/reconciliation_bills.json" <<'PY'
import json,sys; r=json.load(open(sys.argv[1])); print("report:", r["source"], json.dumps(r["totals"]))
PY
zeros=$(awk -F, 'NR>1 && $NF=="0"' "$d/results/bills.csv" | wc -l)
printf 'reconciled %d rows against a ledger of %d rows: %.1f s, peak RSS %.1f MB, %d rows marked 0\n' "$ROWS" "$ROWS" "$secs" "$(echo "$kb / 1024" | bc -l)" "$zeros"
