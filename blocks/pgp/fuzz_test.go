package pgp

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"testing"
	"time"
)

// FuzzDetect: armor detection and message parsing never panic or hang on
// arbitrary input, and input that is accepted as armored really was.
func FuzzDetect(f *testing.F) {
	f.Add([]byte("-----BEGIN PGP MESSAGE-----\n\nhQEMA\n=abcd\n-----END PGP MESSAGE-----\n"))
	f.Add([]byte("\xef\xbb\xbf  \n-----BEGIN PGP MESSAGE-----\n"))
	f.Add([]byte{0x85, 0x01, 0x0c, 0x03})
	f.Add([]byte{0xc1, 0x5e, 0x03})
	f.Add([]byte("id,name\n1,x\n"))
	f.Add([]byte{})
	pub, sec := goKey(f)
	keys, _ := ParseKeyRing("k", sec)
	dec, _ := NewDecrypter(keys, nil, nil, time.Now)
	pk, _ := ParseKeyRing("k", pub)
	enc, _ := NewEncrypter(pk, false, time.Now)
	var ct bytes.Buffer
	enc.Encrypt(context.Background(), bytes.NewReader([]byte("a,b\n")), &ct, "x")
	f.Add(ct.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		r, format, err := Detect(bufio.NewReader(bytes.NewReader(data)))
		if err == nil {
			if format == FormatArmored && !bytes.Contains(data, armorStart) {
				t.Fatalf("armored without a header: %q", data)
			}
			io.Copy(io.Discard, io.LimitReader(r, 1<<20))
		}
		_, _ = dec.Decrypt(context.Background(), bytes.NewReader(data), io.Discard)
	})
}
