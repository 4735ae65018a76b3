package jsoncsv

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/golang/snappy"
)

// hamba/avro's OCF decoder allocates each block at the size the file
// claims (a negative size panics, a huge one exhausts memory) and inflates
// compressed blocks without a bound. guardOCF checks the container framing
// first and passes the bytes through unchanged, so a hostile file fails
// with an error instead of taking the process down.
const (
	maxOCFBlock     = 64 << 20  // stored (compressed) bytes per block
	maxOCFInflated  = 256 << 20 // decoded bytes per block
	maxOCFHeaderMap = 1 << 20   // bytes of header metadata
)

var ocfMagic = []byte{'O', 'b', 'j', 1}

type ocfGuard struct {
	src   *bufio.Reader
	out   bytes.Buffer // checked bytes not yet handed out
	codec string
	state int // 0 header, 1 blocks, 2 done
	err   error
}

func guardOCF(r io.Reader) io.Reader { return &ocfGuard{src: bufio.NewReaderSize(r, 64<<10)} }

func (g *ocfGuard) Read(p []byte) (int, error) {
	for g.out.Len() == 0 {
		if g.err != nil {
			return 0, g.err
		}
		switch g.state {
		case 0:
			g.err = g.header()
			g.state = 1
		case 1:
			if _, err := g.src.Peek(1); err == io.EOF {
				g.state, g.err = 2, io.EOF
				continue
			}
			g.err = g.block()
		default:
			return 0, io.EOF
		}
		if g.err == io.EOF && g.state != 2 {
			g.err = io.ErrUnexpectedEOF
		}
	}
	return g.out.Read(p)
}

// long reads a zig-zag varint and copies its bytes to out.
func (g *ocfGuard) long() (int64, error) {
	var raw [binary.MaxVarintLen64]byte
	var u uint64
	for i := 0; i < len(raw); i++ {
		b, err := g.src.ReadByte()
		if err != nil {
			return 0, err
		}
		raw[i] = b
		u |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			g.out.Write(raw[:i+1])
			return int64(u>>1) ^ -int64(u&1), nil
		}
	}
	return 0, errors.New("corrupt Avro file: varint too long")
}

func (g *ocfGuard) copyN(n int64) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(g.src, b); err != nil {
		return nil, err
	}
	g.out.Write(b)
	return b, nil
}

func (g *ocfGuard) header() error {
	magic, err := g.copyN(4)
	if err != nil || !bytes.Equal(magic, ocfMagic) {
		return errors.New("not an Avro object container file (no Obj\\x01 header)")
	}
	total := int64(0)
	for {
		count, err := g.long()
		if err != nil {
			return fmt.Errorf("corrupt Avro header: %w", err)
		}
		if count == 0 {
			break
		}
		if count < 0 {
			count = -count
			if _, err := g.long(); err != nil { // block byte size
				return fmt.Errorf("corrupt Avro header: %w", err)
			}
		}
		for i := int64(0); i < count; i++ {
			var kv [2][]byte
			for j := range kv {
				n, err := g.long()
				if err != nil {
					return fmt.Errorf("corrupt Avro header: %w", err)
				}
				total += n
				if n < 0 || total > maxOCFHeaderMap {
					return errors.New("corrupt Avro header: metadata too large or negative length")
				}
				if kv[j], err = g.copyN(n); err != nil {
					return fmt.Errorf("corrupt Avro header: %w", err)
				}
			}
			if string(kv[0]) == "avro.codec" {
				g.codec = string(kv[1])
			}
		}
	}
	switch g.codec {
	case "", "null", "deflate", "snappy":
	default:
		return fmt.Errorf("Avro codec %q is not supported (use null, deflate or snappy)", g.codec)
	}
	if _, err := g.copyN(16); err != nil {
		return fmt.Errorf("corrupt Avro header: no sync marker: %w", err)
	}
	return nil
}

func (g *ocfGuard) block() error {
	count, err := g.long()
	if err != nil {
		return fmt.Errorf("corrupt Avro block: %w", err)
	}
	size, err := g.long()
	if err != nil {
		return fmt.Errorf("corrupt Avro block: %w", err)
	}
	if count < 0 || size < 0 || size > maxOCFBlock {
		return fmt.Errorf("corrupt Avro block: %d records in %d bytes (limit %d bytes)", count, size, maxOCFBlock)
	}
	data, err := g.copyN(size)
	if err != nil {
		return fmt.Errorf("corrupt Avro block: %w", err)
	}
	switch g.codec {
	case "deflate":
		n, err := io.Copy(io.Discard, io.LimitReader(flate.NewReader(bytes.NewReader(data)), maxOCFInflated+1))
		if err != nil {
			return fmt.Errorf("corrupt Avro block: deflate: %w", err)
		}
		if n > maxOCFInflated {
			return fmt.Errorf("Avro block inflates to more than %d bytes", maxOCFInflated)
		}
	case "snappy":
		if len(data) < 4 {
			return errors.New("corrupt Avro block: short snappy block")
		}
		n, err := snappy.DecodedLen(data[:len(data)-4])
		if err != nil || n > maxOCFInflated {
			return fmt.Errorf("corrupt or oversized snappy Avro block (%d bytes): %v", n, err)
		}
	}
	if _, err := g.copyN(16); err != nil {
		return fmt.Errorf("corrupt Avro block: no sync marker: %w", err)
	}
	return nil
}
