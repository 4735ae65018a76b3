package pgp

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/connectplus/connectplus/block"
)

// genReader produces n deterministic bytes and hashes them as it goes.
type genReader struct {
	rng  *rand.ChaCha8
	left int64
	h    hash.Hash
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	g.rng.Read(p)
	g.h.Write(p)
	g.left -= int64(len(p))
	return len(p), nil
}

func (g *genReader) Close() error { return nil }

// vmHWM reads the process's peak resident set size in KiB.
func vmHWM(t testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatalf("peak RSS needs /proc/self/status (Linux): %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

func goKey(t testing.TB) (pub, sec string) {
	t.Helper()
	e, err := openpgp.NewEntity("Stream", "", "stream@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	var ps, ss strings.Builder
	w, _ := armor.Encode(&ps, openpgp.PublicKeyType, nil)
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	w, _ = armor.Encode(&ss, openpgp.PrivateKeyType, nil)
	if err := e.SerializePrivate(w, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return ps.String(), ss.String()
}

// TestStreamingDecrypt pushes a large stream through the encrypt block
// (lazy, piped) into the decrypt block and checks bytes, hash and that the
// peak RSS does not grow with the size. 64 MiB by default; 1 GiB with
// CONNECTPLUS_BIG=1.
func TestStreamingDecrypt(t *testing.T) {
	size := int64(64 << 20)
	if os.Getenv("CONNECTPLUS_BIG") == "1" {
		size = 1 << 30
	}
	pub, sec := goKey(t)
	enc := newBlock(t, EncryptSpec, map[string]string{"publicKeyFile": pub})
	dec := newBlock(t, DecryptSpec, map[string]string{"privatekeyFile": b64([]byte(sec))})

	gen := &genReader{rng: rand.NewChaCha8([32]byte{7}), left: size, h: sha256.New()}
	src := &block.Unit{Attrs: block.Attributes{block.AttrLineageID: "big"}, File: block.NewFile("big.bin", size, func(context.Context) (io.ReadCloser, error) { return gen, nil })}
	ctx := context.Background()
	before := vmHWM(t)
	start := time.Now()
	var eout collector
	if err := enc.(block.Processor).Process(ctx, src, &eout); err != nil {
		t.Fatal(err)
	}
	var dout collector
	if err := dec.Process(ctx, eout.units[0], &dout); err != nil {
		t.Fatal(err)
	}
	rc, err := dout.units[0].File.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, bufio.NewReaderSize(rc, 1<<20))
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	peak := vmHWM(t) - before
	if n != size {
		t.Fatalf("decrypted %d bytes, want %d", n, size)
	}
	if got, want := hex.EncodeToString(h.Sum(nil)), hex.EncodeToString(gen.h.Sum(nil)); got != want {
		t.Fatalf("sha256 %s, want %s", got, want)
	}
	t.Logf("%d MiB encrypt→decrypt→read in %v (%.0f MiB/s); VmHWM before %d KiB, growth %d KiB", size>>20, elapsed.Round(time.Millisecond), float64(size>>20)/elapsed.Seconds(), before, peak)
	if peak > 64<<10 {
		t.Fatalf("peak RSS grew by %d KiB: not streaming", peak)
	}
	dec.(block.LineageEnder).EndLineage(ctx, "big", true)
	if ents, _ := os.ReadDir(dec.(*decryptBlock).spill.Dir); len(ents) != 0 {
		t.Fatalf("spills left behind: %v", ents)
	}
}
