package obs

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/store"
)

// benchFlows × benchDays of per-minute activity: every dataflow runs every
// minute with a source, a converter and an API block (three block rows, the
// dataflow total and one endpoint row per minute), and 10 % of its minutes
// have an error message.
const (
	benchFlows = 200
	benchDays  = 30
)

// seedBench writes what the recorder stores for that activity under the
// default retention: minute rows for the last 3 days, hour and day rows for
// all 30 days. Rows are inserted directly (the roll-ups computed here, as
// the additive upserts would leave them): going through WriteMetrics would
// take tens of minutes of upserts for the same final rows.
func seedBench(b *testing.B, sk sink, now time.Time, minuteDays int) {
	b.Helper()
	rows := 0
	exec := func(k int, args ...any) {
		sk.add(k, args...)
		rows++
	}
	end := now.Truncate(time.Minute).Unix()
	start := end - benchDays*86400
	minuteFrom := end - int64(minuteDays)*86400
	rng := rand.New(rand.NewPCG(1, 2))
	type acc struct {
		in, out, failed int64
		hist            [store.LatencyBuckets]int64
		lat             int64
		errs            int64
	}
	add := func(to map[int64]*acc, k int64, a *acc) {
		t := to[k]
		if t == nil {
			t = &acc{}
			to[k] = t
		}
		t.in, t.out, t.failed, t.lat, t.errs = t.in+a.in, t.out+a.out, t.failed+a.failed, t.lat+a.lat, t.errs+a.errs
		for i := range t.hist {
			t.hist[i] += a.hist[i]
		}
	}
	// The organisation's aggregate rows (store.AllFlows), as WriteMetrics
	// adds them.
	org := map[int64]map[int64]*acc{60: {}, 3600: {}, 86400: {}}
	for f := 0; f < benchFlows; f++ {
		flow := fmt.Sprintf("flw_bench_%03d", f)
		hours := map[int64]*acc{}
		days := map[int64]*acc{}
		for at := start; at < end; at += 60 {
			in := int64(50 + rng.IntN(100))
			failed := int64(0)
			if rng.IntN(10) == 0 {
				failed = int64(1 + rng.IntN(5))
			}
			var a acc
			a.in, a.out, a.failed = in, in-failed, failed
			for i := int64(0); i < in; i++ {
				d := time.Duration(5+rng.IntN(200)) * time.Millisecond
				a.hist[store.LatencyBucket(d)]++
				a.lat += d.Microseconds()
			}
			if failed > 0 {
				a.errs = failed
			}
			add(hours, at-at%3600, &a)
			add(days, at-at%86400, &a)
			add(org[3600], at-at%3600, &a)
			add(org[86400], at-at%86400, &a)
			if at >= minuteFrom {
				add(org[60], at, &a)
				write(exec, flow, 60, at, a.in, a.out, a.failed, a.lat, a.hist, a.errs)
			}
		}
		for _, m := range []struct {
			res int64
			to  map[int64]*acc
		}{{3600, hours}, {86400, days}} {
			for at, a := range m.to {
				write(exec, flow, m.res, at, a.in, a.out, a.failed, a.lat, a.hist, a.errs)
			}
		}
	}
	for res, m := range org {
		for at, a := range m {
			writeOrg(exec, res, at, a.in, a.out, a.failed, a.lat, a.hist, a.errs)
		}
	}
	sk.flush()
	b.Logf("seeded %d rows", rows)
}

func write(exec func(int, ...any), flow string, res, at, in, out, failed, lat int64, hist [store.LatencyBuckets]int64, errs int64) {
	exec(0, "org_bench", flow, "", res, at, 1, 1, in, out, 0, failed, 0, failed, in*120, 1, 0, boolI(failed > 0), in*900)
	exec(0, "org_bench", flow, "read", res, at, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	exec(0, "org_bench", flow, "convert", res, at, 1, in, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	exec(0, "org_bench", flow, "post", res, at, in, out, 0, 0, 0, failed, 0, 0, 0, 0, 0, 0, 0)
	args := []any{"org_bench", flow, "post", "POST https://api.example.com/v2/customers", res, at, in, out, 0, 0, failed, 0, in, failed, lat}
	for _, h := range hist {
		args = append(args, h)
	}
	exec(1, args...)
	if errs > 0 {
		exec(2, "org_bench", flow, "post", 503, "Service Unavailable", res, at, errs)
	}
}

func writeOrg(exec func(int, ...any), res, at, in, out, failed, lat int64, hist [store.LatencyBuckets]int64, errs int64) {
	files := benchFlows * res / 60 // every dataflow completes a file a minute
	exec(0, "org_bench", store.AllFlows, "", res, at, files, files, in, out, 0, failed, 0, failed, in*120, files, 0, 0, in*900)
	args := []any{"org_bench", store.AllFlows, store.AllFlows, store.AllFlows, res, at, in, out, 0, 0, failed, 0, in, failed, lat}
	for _, h := range hist {
		args = append(args, h)
	}
	exec(1, args...)
	if errs > 0 {
		exec(2, "org_bench", store.AllFlows, "post", 503, "Service Unavailable", res, at, errs)
	}
}

func boolI(b bool) int {
	if b {
		return 1
	}
	return 0
}

func dbBytes(b *testing.B, st *store.Store, path string) int64 {
	b.Helper()
	if _, err := st.DB().Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// maxPerFlowDay is the bound docs/observability.md states per database:
// PostgreSQL stores every counter as an 8-byte BIGINT with a 24-byte row
// header and keeps the primary key as a separate B-tree, where SQLite
// stores small integers in one or two bytes and the table as its primary
// key (WITHOUT ROWID).
var maxPerFlowDay = map[string]float64{store.SQLite: 160 << 10, store.Postgres: 320 << 10}

// BenchmarkSnapshot24h: the System Snapshot over the last 24 hours of 200
// dataflows with 30 days of per-minute activity, on SQLite, stored under
// the default retention (minute rows 3 days, hour and day rows 30 days).
// It reports the database size and the bytes per dataflow per day, and
// fails if they pass the documented bound (docs/observability.md).
func BenchmarkSnapshot24h(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "bench.sqlite")
	st, err := store.Open(ctx, "sqlite://"+path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC()
	t0 := time.Now()
	seedBench(b, newSQLiteSink(b, st.DB()), now, 3)
	if _, err := st.DB().Exec(`VACUUM`); err != nil {
		b.Fatal(err)
	}
	size := dbBytes(b, st, path)
	b.Logf("seeded in %v", time.Since(t0).Round(time.Second))
	benchSnapshot(b, st, now, size)
}

// BenchmarkSnapshot24hPostgres is BenchmarkSnapshot24h on the PostgreSQL
// server the tests start (internal/testenv: fsync off, default
// shared_buffers). The size is that of the three metric tables with their
// indexes and TOAST (pg_total_relation_size) after VACUUM (FULL, ANALYZE);
// the whole database, catalogue included, is logged beside it.
func BenchmarkSnapshot24hPostgres(b *testing.B) {
	ctx := context.Background()
	pg := testenv.Postgres(b)
	st, err := store.Open(ctx, pg.DSN)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC()
	t0 := time.Now()
	seedBench(b, &pgSink{b: b, conn: pg.Connect(b)}, now, 3)
	for _, t := range benchTables {
		if _, err := st.DB().ExecContext(ctx, `VACUUM (FULL, ANALYZE) `+t.name); err != nil {
			b.Fatal(err)
		}
	}
	var size, dbSize int64
	if err := st.DB().QueryRowContext(ctx, `SELECT pg_total_relation_size('obs_counts') + pg_total_relation_size('obs_http') + pg_total_relation_size('obs_errors'), pg_database_size(current_database())`).Scan(&size, &dbSize); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded in %v; whole database %d bytes (%.1f MB)", time.Since(t0).Round(time.Second), dbSize, float64(dbSize)/1e6)
	for _, t := range benchTables {
		var heap, idx, rows int64
		if err := st.DB().QueryRowContext(ctx, `SELECT pg_relation_size($1), pg_indexes_size($1), (SELECT COUNT(*) FROM `+t.name+`)`, t.name).Scan(&heap, &idx, &rows); err != nil {
			b.Fatal(err)
		}
		b.Logf("%s: %d rows, table %.1f MB, indexes %.1f MB", t.name, rows, float64(heap)/1e6, float64(idx)/1e6)
	}
	benchSnapshot(b, st, now, size)
}

// benchSnapshot checks the stored size against the bound and times the
// 24-hour snapshot of every dataflow.
func benchSnapshot(b *testing.B, st *store.Store, now time.Time, size int64) {
	ctx := context.Background()
	perFlowDay := float64(size) / benchFlows / benchDays
	b.Logf("%s: %d bytes (%.1f MB), %.0f bytes per dataflow per day", st.Dialect(), size, float64(size)/1e6, perFlowDay)
	if bound := maxPerFlowDay[st.Dialect()]; perFlowDay > bound {
		b.Fatalf("%.0f bytes per dataflow per day, over the stated %.0f", perFlowDay, bound)
	}
	q := NewQuerier(st)
	w := Window{From: now.Add(-24 * time.Hour), To: now}
	var s Snapshot
	var err error
	b.ResetTimer()
	for b.Loop() {
		if s, err = q.Snapshot(ctx, "org_bench", nil, w); err != nil {
			b.Fatal(err)
		}
	}
	if s.Files < benchFlows*24*60 || s.ProcessedUnits == 0 || s.Latency.P95 == nil {
		b.Fatalf("snapshot %+v", s)
	}
	b.ReportMetric(float64(size), "db-bytes")
	b.ReportMetric(perFlowDay, "B/flow-day")
}
