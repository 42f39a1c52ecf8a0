// Package pn532 drives an NXP PN532 NFC controller over its HSU (UART)
// interface, as a hal.CardReader for contactless (ISO 14443-4 type A)
// payment cards and phones. Frames are those of NXP UM0701-02 §6.2.
package pn532

import (
	"errors"
	"fmt"
	"io"
)

// Frame identifiers: TFI of a frame from the host, and from the PN532.
const (
	tfiHost = 0xD4
	tfiChip = 0xD5
	// tfiError is the TFI of the PN532's syntax error frame.
	tfiError = 0x7F
)

var (
	ackFrame  = []byte{0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00}
	nackFrame = []byte{0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00}
)

// Errors of the frame layer.
var (
	// ErrChecksum: a frame's length or data checksum is wrong.
	ErrChecksum = errors.New("pn532: frame checksum wrong")
	// ErrFrame: bytes that are not a PN532 frame.
	ErrFrame = errors.New("pn532: malformed frame")
	// ErrSyntax: the PN532 answered with its error frame (an unknown
	// command or a bad parameter).
	ErrSyntax = errors.New("pn532: the chip refused the command (syntax error frame)")
)

// maxData is the most a frame carries after the TFI (extended frames;
// the firmware's own limit is 264).
const maxData = 264

// Frame is one PN532 frame as read.
type Frame struct {
	ACK, NACK bool
	TFI       byte
	Data      []byte // after the TFI
}

// EncodeFrame writes an information frame: normal up to 254 data bytes,
// extended beyond.
func EncodeFrame(tfi byte, data []byte) ([]byte, error) {
	if len(data) > maxData {
		return nil, fmt.Errorf("pn532: frame of %d bytes, at most %d", len(data), maxData)
	}
	n := len(data) + 1
	var out []byte
	if n <= 255 {
		out = []byte{0x00, 0x00, 0xFF, byte(n), byte(-n)}
	} else {
		out = []byte{0x00, 0x00, 0xFF, 0xFF, 0xFF, byte(n >> 8), byte(n), byte(-(n>>8 + n&0xFF))}
	}
	sum := tfi
	out = append(out, tfi)
	for _, b := range data {
		sum += b
		out = append(out, b)
	}
	return append(out, -sum, 0x00), nil
}

// byteReader is what ReadFrame reads from: one byte at a time, an error
// when the line is silent too long.
type byteReader interface{ ReadByte() (byte, error) }

// ReadFrame reads the next frame, skipping whatever comes before a start
// code (00 FF): line noise, the postamble of the frame before. A frame
// whose checksums fail is ErrChecksum: the caller asks again with a NACK.
func ReadFrame(r byteReader) (Frame, error) {
	// Find 00 FF, at most a few hundred bytes of junk ahead of it.
	prev := byte(0xAA)
	for skipped := 0; ; skipped++ {
		b, err := r.ReadByte()
		if err != nil {
			return Frame{}, err
		}
		if prev == 0x00 && b == 0xFF {
			break
		}
		if skipped > 600 {
			return Frame{}, fmt.Errorf("%w: no start code in %d bytes", ErrFrame, skipped)
		}
		prev = b
	}
	read := func() (byte, error) {
		b, err := r.ReadByte()
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return b, err
	}
	l, err := read()
	if err != nil {
		return Frame{}, err
	}
	lcs, err := read()
	if err != nil {
		return Frame{}, err
	}
	var n int
	switch {
	case l == 0x00 && lcs == 0xFF:
		return Frame{ACK: true}, nil
	case l == 0xFF && lcs == 0x00:
		return Frame{NACK: true}, nil
	case l == 0xFF && lcs == 0xFF:
		hi, err := read()
		if err != nil {
			return Frame{}, err
		}
		lo, err := read()
		if err != nil {
			return Frame{}, err
		}
		c, err := read()
		if err != nil {
			return Frame{}, err
		}
		if hi+lo+c != 0 {
			return Frame{}, fmt.Errorf("%w: extended length", ErrChecksum)
		}
		n = int(hi)<<8 | int(lo)
	default:
		if l+lcs != 0 {
			return Frame{}, fmt.Errorf("%w: length", ErrChecksum)
		}
		n = int(l)
	}
	if n == 0 || n > maxData+1 {
		return Frame{}, fmt.Errorf("%w: length %d", ErrFrame, n)
	}
	body := make([]byte, n)
	var sum byte
	for i := range body {
		if body[i], err = read(); err != nil {
			return Frame{}, err
		}
		sum += body[i]
	}
	dcs, err := read()
	if err != nil {
		return Frame{}, err
	}
	if sum+dcs != 0 {
		return Frame{}, fmt.Errorf("%w: data", ErrChecksum)
	}
	return Frame{TFI: body[0], Data: body[1:]}, nil
}
