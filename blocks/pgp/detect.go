package pgp

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// Format is how an OpenPGP message is encoded on the wire.
type Format int

const (
	// FormatBinary is raw OpenPGP packets (gpg's default, .gpg/.pgp files).
	FormatBinary Format = iota
	// FormatArmored is ASCII armor (gpg --armor, .asc files).
	FormatArmored
)

func (f Format) String() string {
	if f == FormatArmored {
		return "armored"
	}
	return "binary"
}

// maxLeadingSpace bounds how much white space may precede an armor header:
// enough for files edited on any platform, small enough that a binary file
// is never scanned far.
const maxLeadingSpace = 1024

var (
	armorStart = []byte("-----BEGIN PGP ")
	bom        = []byte("\xef\xbb\xbf")
)

// Detect tells an armored message from a binary one by looking at the start
// of br without consuming it, and returns a reader of the binary packets.
// Armor may be preceded by white space (and a UTF-8 byte-order mark); a
// binary message must start with an OpenPGP packet tag (high bit set).
// Anything else is not an OpenPGP message, reported with what was found so
// the user can tell a plain CSV from a truncated download.
func Detect(br *bufio.Reader) (io.Reader, Format, error) {
	head, err := br.Peek(maxLeadingSpace + len(armorStart))
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, 0, fmt.Errorf("read message: %w", err)
	}
	if len(head) == 0 {
		return nil, 0, fmt.Errorf("not an OpenPGP message: the file is empty")
	}
	if bytes.HasPrefix(head, bom) {
		// Editors on Windows add a byte-order mark to armored text; the armor
		// decoder would not recognise the header line behind it.
		_, _ = br.Discard(len(bom))
		head = head[len(bom):]
		if len(head) == 0 {
			return nil, 0, fmt.Errorf("not an OpenPGP message: the file holds only a byte-order mark")
		}
	} else if MessageTag(head[0]) {
		return br, FormatBinary, nil
	}
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	if !bytes.HasPrefix(trimmed, armorStart) {
		return nil, 0, fmt.Errorf("not an OpenPGP message: it starts with %q, neither an OpenPGP packet nor an armor header (-----BEGIN PGP MESSAGE-----)", printable(head, 24))
	}
	blk, err := armor.Decode(br)
	if err != nil {
		return nil, 0, fmt.Errorf("invalid ASCII armor: %w", err)
	}
	if blk.Type != "PGP MESSAGE" {
		return nil, 0, fmt.Errorf("armored block is a %q, not a PGP MESSAGE (clear-signed and key blocks cannot be decrypted)", blk.Type)
	}
	return blk.Body, FormatArmored, nil
}

// printable renders at most n bytes of b for an error message.
func printable(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(bytes.ToValidUTF8(b, []byte("?")))
}

// MessageTag reports whether b can be the first byte of an OpenPGP message:
// a packet header (old or new format) of a packet a message may start with
// (session keys, one-pass signature, signature, compressed, literal or
// encrypted data). Other binary files (UTF-16 text, images) do not pass.
func MessageTag(b byte) bool {
	if b&0x80 == 0 {
		return false
	}
	tag := b & 0x3f
	if b&0x40 == 0 {
		tag = (b >> 2) & 0x0f
	}
	switch tag {
	case 1, 2, 3, 4, 8, 9, 11, 18, 20:
		return true
	}
	return false
}
