#!/usr/bin/env bash
# Side-by-side benchmark of the flagship API job (issue 22):
#   CSV → convert_csv_to_json groupSize 100 → jslt_transform bulk →
#   filter_on_condition paid → http_write bulk, to the loopback sink
# run by three programs on the same generated file, interleaved, N reps each:
#   ours         connectplus run examples/add_transactions.yaml (result file and
#                checkpoints on, as a user runs it)
#   handwritten  bench/peers/handwritten, the same job written by hand
#   rpc          the Redpanda Connect engine (github.com/redpanda-data/benthos/v4,
#                pinned below, built in a scratch module) on bench/peers/rpc-map-http.yaml
# Each run gets a fresh sink; the records it counted are the "posted" column.
# Prints one table (medians, min–max, ratios, peak RSS) and exits 1 when the
# programs' posted record counts differ.
#
# Usage: bench/compare.sh [ROWS]          (default 1000000)
# Environment: N=3 reps; RPC=0 skips the Redpanda Connect engine (RPC_N=reps for
# it alone, it is ~10× slower); RPC_VERSION=v4.78.0; CPUS=0 runs every program
# under taskset -c CPUS; PGO=off builds ours without default.pgo; KEEP=1 keeps
# the work directory; DATA=bench/data; BASE=path/to/another/connectplus adds it
# as program "base" (e.g. a build of main, for before/after figures);
# COSTS=1 adds ours without the per-record result rows (Report Status Code:
# failure, so only failures are written: "ours-noresult") and with checkpoints
# saved once an hour instead of four times a second ("ours-nocheckpoint").
# MODE=jsonl compares the file→file job instead: examples/csv_to_jsonl.yaml
# (convert_csv_to_json → file_write, result file and checkpoints on) against
# handwritten -jsonl; the "posted" column is then the lines written, and the
# outputs must be byte-identical (sha256). No Redpanda Connect in that mode.
# RPC_BIN=path uses an already built Redpanda Connect engine binary instead of
# building one (the build takes minutes; `go version -m RPC_BIN` shows its version).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
N=${N:-3}
MODE=${MODE:-api}
RPC=${RPC:-1}
[ "$MODE" = api ] || RPC=0
RPC_N=${RPC_N:-$N}
RPC_VERSION=${RPC_VERSION:-v4.78.0}
DATA=${DATA:-bench/data}
PGO=${PGO:-auto}
WORK=$(mktemp -d /tmp/connectplus-compare-XXXX)
trap '[ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"' EXIT
[ -x /usr/bin/time ] || { echo "compare.sh needs GNU time at /usr/bin/time (apt-get install time)"; exit 1; }
PIN=()
[ -z "${CPUS:-}" ] || PIN=(taskset -c "$CPUS")

echo "building ours, the hand-written baseline, the sink and the generator…" >&2
go build -pgo="$PGO" -o "$WORK/connectplus" ./cmd/connectplus
go build -o "$WORK/handwritten" ./bench/peers/handwritten
go build -o "$WORK/sink" ./bench/cmd/sink
go build -o "$WORK/gencsv" ./bench/cmd/gencsv

peers=(ours handwritten)
[ -z "${BASE:-}" ] || peers+=(base)
[ "${COSTS:-0}" = 0 ] || peers+=(ours-noresult ours-nocheckpoint)
if [ "$RPC" = 1 ] && [ -n "${RPC_BIN:-}" ]; then
  cp "$RPC_BIN" "$WORK/rpc"
  echo "Redpanda Connect engine: $RPC_BIN ($(go version -m "$RPC_BIN" | awk '$2 == "github.com/redpanda-data/benthos/v4" {print $3}'))" >&2
  peers+=(rpc)
elif [ "$RPC" = 1 ]; then
  echo "building the Redpanda Connect engine $RPC_VERSION in a scratch module…" >&2
  mod="$WORK/rpc-module"; mkdir -p "$mod"
  if (cd "$mod" && go mod init scratch/rpc >/dev/null 2>&1 &&
      go get "github.com/redpanda-data/benthos/v4@$RPC_VERSION" >"$WORK/rpc-build.log" 2>&1 &&
      GOFLAGS=-mod=mod go build -o "$WORK/rpc" github.com/redpanda-data/benthos/v4/cmd/benthos >>"$WORK/rpc-build.log" 2>&1); then
    peers+=(rpc)
  else
    echo "the Redpanda Connect engine $RPC_VERSION could not be built here; comparing ours with handwritten only:" >&2
    tail -5 "$WORK/rpc-build.log" >&2
  fi
fi

mkdir -p "$DATA"
FILE="$DATA/tx$ROWS.csv"
[ -s "$FILE" ] || "$WORK/gencsv" -rows "$ROWS" -o "$FILE"
cat "$FILE" > /dev/null # warm the page cache

# The flow: the example pointed at the sink, with a rate limit above its speed
# (MODE=jsonl: csv_to_jsonl.yaml writing into the run's directory).
flow="$WORK/flow.yaml"
if [ "$MODE" = jsonl ]; then
  sed -e 's#/tmp/connectplus-demo#${RUN_DIR}#g' examples/csv_to_jsonl.yaml > "$flow.in"
else
  sed -e "s#/tmp/connectplus-demo#$WORK/demo#g" -e 's#https://eu.api.capillarytech.com#${SINK_URL}#g' \
    examples/add_transactions.yaml > "$flow.in"
  sed -i 's#^      apiEndPoint: /v2/transactions/bulk#      apiEndPoint: /v2/transactions/bulk\n      rate: "100000000"\n      period: "1"\n      timeUnit: SECONDS#' "$flow.in"
fi

# run PEER REP: one timed run against a fresh sink; appends to $WORK/results.
run() {
  local peer=$1 rep=$2 d="$WORK/run-$1-$2"
  mkdir -p "$d"
  local sink="" url=""
  if [ "$MODE" = api ]; then
    GOGC=1000 "$WORK/sink" -addr-file "$d/addr" 2>/dev/null &
    sink=$!
    for _ in $(seq 100); do [ -s "$d/addr" ] && break; sleep 0.05; done
    url="http://$(cat "$d/addr")"
  fi
  local cmd
  case $peer in
    ours|base|ours-noresult|ours-nocheckpoint)
      local bin="$WORK/connectplus" extra=()
      [ "$peer" != base ] || bin=$BASE
      sed -e "s#\${SINK_URL}#$url#g" -e "s#\${RUN_DIR}#$d/demo#g" "$flow.in" > "$d/flow.yaml"
      [ "$peer" != ours-noresult ] || sed -i "s#^      fileRegex: .*#&\n      Report Status Code: failure#" "$d/flow.yaml"
      [ "$peer" != ours-nocheckpoint ] || extra=(--checkpoint-interval 1h)
      cmd=("$bin" run "${extra[@]}" "$d/flow.yaml" --input "$FILE" --result-dir "$d" --checkpoint-dir "$d/cp"
        --work-dir "$d" --no-progress --config capillary_client_key=bench --config capillary_client_secret=bench) ;;
    handwritten)
      if [ "$MODE" = jsonl ]; then
        mkdir -p "$d/demo/out"; cmd=("$WORK/handwritten" -in "$FILE" -jsonl "$d/demo/out/$(basename "$FILE").jsonl")
      else
        cmd=("$WORK/handwritten" -in "$FILE" -url "$url")
      fi ;;
    rpc) cmd=(env IN="$FILE" URL="$url/v2/transactions/bulk" "$WORK/rpc" -c bench/peers/rpc-map-http.yaml) ;;
  esac
  # The previous run's files (result, spool, logs: ~400 MB for ours at 1M rows)
  # are written back before this run starts, not during it, so later reps are
  # not charged for earlier ones' writeback.
  sync
  local rc=0
  /usr/bin/time -f "%e %U %S %M" -o "$d/time" "${PIN[@]}" "${cmd[@]}" > "$d/out" 2>&1 || rc=$?
  local posted
  if [ "$MODE" = jsonl ]; then
    # Lines written, and the output's checksum: every program must write the same bytes.
    local out="$d/demo/out/$(basename "$FILE").jsonl"
    posted=$(wc -l < "$out" 2>/dev/null || echo 0)
    sha256sum < "$out" 2>/dev/null | cut -c1-16 >> "$WORK/sums" || echo missing >> "$WORK/sums"
  else
    posted=$(curl -s "$url/stats" | sed 's/.*"records":\([0-9]*\).*/\1/')
    kill "$sink" 2>/dev/null || true
    wait "$sink" 2>/dev/null || true
  fi
  if [ "$rc" != 0 ]; then
    echo "$peer rep $rep exited $rc:" >&2; tail -20 "$d/out" >&2
  fi
  read -r wall user sys kb < <(tail -1 "$d/time")
  echo "$peer $rep $wall $user $sys $kb $posted $rc" >> "$WORK/results"
  printf '  %-12s rep %d: %6.2f s wall, %6.2f s CPU, %6.1f MB peak RSS, %s records posted\n' \
    "$peer" "$rep" "$wall" "$(echo "$user + $sys" | bc -l)" "$(echo "$kb / 1024" | bc -l)" "$posted" >&2
  rm -rf "$d"
}

echo "$MODE job, $ROWS rows ($(du -h "$FILE" | cut -f1)), $N reps interleaved$([ ${#PIN[@]} = 0 ] || echo ", taskset -c $CPUS")" >&2
: > "$WORK/results"; : > "$WORK/sums"
for rep in $(seq "$N"); do
  for p in "${peers[@]}"; do
    if [ "$p" = rpc ] && [ "$rep" -gt "$RPC_N" ]; then continue; fi
    run "$p" "$rep"
  done
done

# The table: medians (min–max) per peer, ratios of medians and of paired reps.
if [ "$MODE" = jsonl ] && [ "$(sort -u "$WORK/sums" | wc -l)" != 1 ]; then
  echo "FAIL: the programs' JSON Lines outputs differ:" >&2; cat "$WORK/sums" >&2; exit 1
fi
awk -v rows="$ROWS" -v mode="$MODE" -v date="$(date -u +%Y-%m-%d)" '
  function median(a, n,   i, j, t) {
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j+1] = a[j]; a[j+1] = t }
    return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
  }
  function minv(a, n,   i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] < m) m = a[i]; return m }
  function maxv(a, n,   i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] > m) m = a[i]; return m }
  {
    p = $1; k = ++n[p]; if (!(p in seen)) { seen[p] = 1; order[++np] = p }
    wall[p, k] = $3; cpu[p, k] = $4 + $5; rss[p, k] = $6 / 1024; posted[p, k] = $7; rc[p, k] = $8
    w[p, $2] = $3
  }
  END {
    printf "\n%s, %d rows, %s, %s\n\n", date, rows, mode == "jsonl" ? "CSV→JSONL file job (records posted = lines written; outputs byte-identical)" : "flagship API job", "medians (min–max) of interleaved reps"
    printf "| program | reps | wall s | CPU s | peak RSS MB | records posted | records/s |\n|---|---|---|---|---|---|---|\n"
    bad = 0
    for (i = 1; i <= np; i++) {
      p = order[i]
      for (k = 1; k <= n[p]; k++) { a[k] = wall[p, k] } ; mw[p] = median(a, n[p]); lo = minv(a, n[p]); hi = maxv(a, n[p])
      for (k = 1; k <= n[p]; k++) { a[k] = cpu[p, k] } ; mc = median(a, n[p])
      for (k = 1; k <= n[p]; k++) { a[k] = rss[p, k] } ; mr = median(a, n[p]); rhi = maxv(a, n[p])
      counts = ""
      for (k = 1; k <= n[p]; k++) {
        if (posted[p, k] != posted[order[1], 1] || rc[p, k] != 0) bad = 1
        if (index(" " counts " ", " " posted[p, k] " ") == 0) counts = counts (counts == "" ? "" : " ") posted[p, k]
      }
      printf "| %s | %d | %.2f (%.2f–%.2f) | %.2f | %.1f (max %.1f) | %s | %.0fk |\n", p, n[p], mw[p], lo, hi, mc, mr, rhi, counts, rows / mw[p] / 1000
    }
    printf "\n"
    if (("ours" in mw) && ("handwritten" in mw)) {
      m = 0; for (k = 1; k <= n["ours"]; k++) if ((("handwritten", k) in w) && w["handwritten", k] > 0) a[++m] = w["ours", k] / w["handwritten", k]
      printf "ours / handwritten: %.2f× (ratio of medians), %.2f× (median of paired reps)\n", mw["ours"] / mw["handwritten"], median(a, m)
    }
    if (("base" in mw) && ("ours" in mw)) {
      m = 0; for (k = 1; k <= n["ours"]; k++) if (("base", k) in w) a[++m] = w["ours", k] / w["base", k]
      printf "ours / base:        %.2f× (ratio of medians), %.2f× (median of paired reps)\n", mw["ours"] / mw["base"], median(a, m)
    }
    if (("ours" in mw) && ("rpc" in mw)) {
      m = 0; for (k = 1; k <= n["rpc"]; k++) if (("ours", k) in w) a[++m] = w["rpc", k] / w["ours", k]
      printf "rpc / ours:         %.1f× (ratio of medians), %.1f× (median of paired reps)\n", mw["rpc"] / mw["ours"], median(a, m)
    }
    if (bad) { printf "\nFAIL: record counts differ between programs or reps, or a program failed\n"; exit 1 }
    printf "records posted: equal across every program and rep\n"
  }' "$WORK/results"
