package sftp

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/csvjson"
	"github.com/connectplus/connectplus/internal/testenv"
)

// BenchmarkSFTPStream downloads a CSV file from a local OpenSSH sshd through
// sftp_read and streams it through convert_csv_to_json (groupSize 100) into
// a sink that counts records, reporting MB/s, records/s and the process's peak RSS (VmHWM, reset
// before the transfer). The file is 32 MiB by default; set
// CP_BENCH_SFTP_MB=650 for the full-size run. Peak RSS must not grow with
// the file size: compare the two.
//
//	CP_BENCH_SFTP_MB=650 go test -run '^$' -bench SFTPStream -benchtime 1x ./blocks/sftp/
func BenchmarkSFTPStream(b *testing.B) {
	mb := 32
	if v := os.Getenv("CP_BENCH_SFTP_MB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("CP_BENCH_SFTP_MB=%q", v)
		}
		mb = n
	}
	srv := testenv.SSHD(b)
	size, rows := writeCSV(b, srv, "in/big.csv", int64(mb)<<20)

	raw := map[string]any{
		"hostname": srv.Host, "username": srv.User, "port": srv.Port, "hostKeyFingerprint": srv.HostKeyFingerprint,
		"private_key_path": map[string]any{"$config": "k"}, "sourceDirectory": "/upload/in",
		"processedDirectory": "/upload/done", "apiErrorFilePath": "/upload/err", "stabilityWait": "0",
	}
	c, probs := ReadSpec.ParseConfig(raw, resolver{"k": string(srv.ClientKeyPEM)})
	if len(probs) > 0 {
		b.Fatal(probs)
	}
	blk, err := ReadSpec.New(c, &block.Env{Block: "bench", WorkDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	src := blk.(block.Source)
	defer blk.(block.Closer).Close()
	ctx := context.Background()
	src.List(ctx)
	items, err := src.List(ctx)
	if err != nil || len(items) != 1 {
		b.Fatalf("items %v err %v", items, err)
	}
	u, err := src.Open(ctx, items[0])
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ResetTimer()
	var elapsed time.Duration
	for range b.N {
		resetPeakRSS()
		start := time.Now()
		n, recs, err := convertCount(ctx, u)
		elapsed = time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if n != size || recs != rows {
			b.Fatalf("read %d bytes %d records, want %d and %d", n, recs, size, rows)
		}
	}
	b.StopTimer()
	secs := elapsed.Seconds()
	b.ReportMetric(float64(size)/(1<<20)/secs, "MB/s")
	b.ReportMetric(float64(rows)/secs, "records/s")
	b.ReportMetric(float64(peakRSS())/(1<<20), "peakRSS_MB")
	b.Logf("%d MiB, %d records in %v: %.1f MB/s, %.0f records/s, peak RSS %.1f MiB",
		size>>20, rows, elapsed.Round(time.Millisecond), float64(size)/(1<<20)/secs, float64(rows)/secs, float64(peakRSS())/(1<<20))
}

// countingOutput is a sink: it counts the records convert_csv_to_json
// emits and the bytes it reports reading.
type countingOutput struct{ records, bytes int64 }

func (c *countingOutput) Emit(_ context.Context, rel string, u *block.Unit) error {
	if u.Batch != nil && rel == block.RelSuccess {
		c.records += int64(len(u.Batch.Records))
	}
	return nil
}
func (c *countingOutput) Ack(*block.Unit, []byte) {}
func (c *countingOutput) Progress(n int64)        { c.bytes += n }

// convertCount runs the unit through convert_csv_to_json (groupSize 100),
// as a dataflow would, and counts what comes out.
func convertCount(ctx context.Context, u *block.Unit) (int64, int64, error) {
	cfg, probs := csvjson.Spec.ParseConfig(map[string]any{"groupSize": 100}, nil)
	if len(probs) > 0 {
		return 0, 0, fmt.Errorf("%v", probs)
	}
	conv, err := csvjson.Spec.New(cfg, &block.Env{Block: "convert", WorkDir: os.TempDir()})
	if err != nil {
		return 0, 0, err
	}
	out := &countingOutput{}
	if err := conv.(block.Processor).Process(ctx, u, out); err != nil {
		return out.bytes, out.records, err
	}
	return out.bytes, out.records, nil
}

// writeCSV creates a CSV of about size bytes on the server's disk (owned by
// the SFTP user) without holding it in memory; it returns the exact size
// and the number of data rows.
func writeCSV(b *testing.B, srv *testenv.SSHServer, rel string, size int64) (int64, int64) {
	header := "customer_id,mobile,email,bill_number,amount,store,date\n"
	local := srv.WriteFile(b, rel, []byte(header))
	f, err := os.OpenFile(local, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	written, rows := int64(len(header)), int64(0)
	var line []byte
	for written < size {
		line = line[:0]
		line = strconv.AppendInt(line, 1000000+rows, 10)
		line = append(line, ",9198"...)
		line = strconv.AppendInt(line, 10000000+rows%89999999, 10)
		line = append(line, fmt.Sprintf(",user%d@example.com,BILL-%08d,%d.%02d,store_%d,2025-01-%02d\n", rows, rows, rows%9999, rows%100, rows%500, 1+rows%28)...)
		w.Write(line)
		written += int64(len(line))
		rows++
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if st, err := os.Stat(filepath.Clean(local)); err != nil || st.Size() != written {
		b.Fatalf("stat %v size %d want %d", err, st.Size(), written)
	}
	return written, rows
}

// resetPeakRSS resets VmHWM (Linux: writing 5 to clear_refs).
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS returns VmHWM in bytes.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}
