package csvio

import (
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// utf16Reader transcodes UTF-16 to UTF-8. Unpaired surrogates and a dangling
// odd byte become U+FFFD: the file is still readable and the damage visible.
type utf16Reader struct {
	src  io.Reader
	be   bool
	in   []byte // undecoded input
	out  []byte // decoded, not yet returned (a view of buf)
	buf  []byte
	eof  bool
	err  error
	high rune // pending high surrogate, or 0
}

func newUTF16Reader(src io.Reader, bigEndian bool) *utf16Reader {
	return &utf16Reader{src: src, be: bigEndian, in: make([]byte, 0, 64<<10)}
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	for len(u.out) == 0 {
		if u.eof {
			if u.high != 0 {
				u.out = utf8.AppendRune(u.out, utf8.RuneError)
				u.high = 0
				continue
			}
			if len(u.in) > 0 { // odd trailing byte
				u.in = u.in[:0]
				u.out = utf8.AppendRune(u.out, utf8.RuneError)
				continue
			}
			if u.err != nil {
				return 0, u.err
			}
			return 0, io.EOF
		}
		n, err := u.src.Read(u.in[len(u.in):cap(u.in)])
		u.in = u.in[:len(u.in)+n]
		if err == io.EOF {
			u.eof = true
		} else if err != nil {
			u.eof, u.err = true, err
		}
		u.decode()
	}
	n := copy(p, u.out)
	u.out = u.out[n:]
	return n, nil
}

func (u *utf16Reader) decode() {
	out := u.buf[:0]
	in := u.in
	i := 0
	for ; i+1 < len(in); i += 2 {
		var c rune
		if u.be {
			c = rune(in[i])<<8 | rune(in[i+1])
		} else {
			c = rune(in[i+1])<<8 | rune(in[i])
		}
		switch {
		case u.high != 0:
			if utf16.IsSurrogate(c) && c >= 0xDC00 {
				out = utf8.AppendRune(out, utf16.DecodeRune(u.high, c))
				u.high = 0
				continue
			}
			out = utf8.AppendRune(out, utf8.RuneError)
			u.high = 0
			if c >= 0xD800 && c < 0xDC00 {
				u.high = c
				continue
			}
			out = utf8.AppendRune(out, c)
		case c >= 0xD800 && c < 0xDC00:
			u.high = c
		case c >= 0xDC00 && c < 0xE000:
			out = utf8.AppendRune(out, utf8.RuneError)
		default:
			out = utf8.AppendRune(out, c)
		}
	}
	u.buf = out
	u.out = out
	u.in = u.in[:copy(u.in, in[i:])]
}

// singleByteReader transcodes ISO-8859-1 or Windows-1252 to UTF-8.
type singleByteReader struct {
	src   io.Reader
	table *[256]rune
	in    []byte
	out   []byte // decoded, not yet returned (a view of buf)
	buf   []byte
	err   error
}

var latin1, cp1252 [256]rune

func init() {
	for i := range latin1 {
		latin1[i] = rune(i)
		cp1252[i] = rune(i)
	}
	// Windows-1252 differs from Latin-1 in 0x80–0x9F; the five undefined
	// bytes keep their C1 code points, as the WHATWG encoding standard does.
	hi := []rune{
		0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
		0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
	}
	copy(cp1252[0x80:], hi)
}

func newSingleByteReader(src io.Reader, windows bool) *singleByteReader {
	t := &latin1
	if windows {
		t = &cp1252
	}
	return &singleByteReader{src: src, table: t, in: make([]byte, 32<<10)}
}

func (s *singleByteReader) Read(p []byte) (int, error) {
	for len(s.out) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		n, err := s.src.Read(s.in)
		out := s.buf[:0]
		for _, b := range s.in[:n] {
			if b < utf8.RuneSelf {
				out = append(out, b)
			} else {
				out = utf8.AppendRune(out, s.table[b])
			}
		}
		s.buf = out
		s.out = out
		if err != nil {
			s.err = err
		}
	}
	n := copy(p, s.out)
	s.out = s.out[n:]
	return n, nil
}
