package uartscan

import (
	"bytes"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shoukuan/pos/hal"
)

// ErrBadLine is wrapped by every rejected line; the *BadLineError says why.
var ErrBadLine = fmt.Errorf("bad scanner line: %w", hal.ErrBadRead)

// Why a line was rejected.
const (
	BadPartial = "partial"  // bytes without a suffix, then silence or disarm
	BadNoise   = "noise"    // control bytes, invalid UTF-8, unprintable runes
	BadTooLong = "too long" // longer than the maximum; discarded up to the next suffix
	BadEmpty   = "empty"    // a suffix with nothing before it
	BadAIM     = "aim"      // AIM identifiers expected and missing
)

// BadLineError is a rejected line. It never carries the line itself: the
// bytes may be most of a customer's payment code, which is a bearer token
// and must not end up in a log.
type BadLineError struct {
	Kind   string // one of the Bad* constants
	Len    int    // bytes dropped (for too long: the maximum that was exceeded)
	Detail string
}

func (e *BadLineError) Error() string {
	s := fmt.Sprintf("uartscan: %v: %s", ErrBadLine, e.Kind)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *BadLineError) Unwrap() error { return ErrBadLine }

// Frame is one framer result: a complete, clean line or an error.
type Frame struct {
	Line string
	Err  error
}

// Framer cuts a byte stream into lines. It is pure (no I/O, time given by
// the caller) so that it can be tested and fuzzed on its own, and it
// keeps at most max+len(suffix) bytes whatever the input.
type Framer struct {
	suffix []byte
	max    int
	gap    time.Duration

	buf     []byte
	last    time.Time // when the last byte arrived
	discard bool      // dropping bytes until the next suffix or silence
}

// NewFramer frames lines ending in suffix (one or more control bytes),
// at most max bytes long; a partial line is dropped after gap of silence.
func NewFramer(suffix string, max int, gap time.Duration) (*Framer, error) {
	if suffix == "" || len(suffix) > 4 {
		return nil, fmt.Errorf("framer: suffix must be 1-4 bytes")
	}
	for i := 0; i < len(suffix); i++ {
		if !isControl(suffix[i]) {
			// A printable suffix could also occur inside a code.
			return nil, fmt.Errorf("framer: suffix byte %#02x is not a control byte", suffix[i])
		}
	}
	if max < 1 {
		return nil, fmt.Errorf("framer: max %d < 1", max)
	}
	return &Framer{suffix: []byte(suffix), max: max, gap: gap, buf: make([]byte, 0, 64)}, nil
}

func isControl(b byte) bool { return b < 0x20 || b == 0x7f }

// Push consumes a chunk that arrived at now and returns the lines and
// errors it completes, in order. How the stream is chunked does not
// change the result: Push does not judge silence, Idle does.
func (f *Framer) Push(now time.Time, chunk []byte) []Frame {
	if len(chunk) > 0 {
		f.last = now
	}
	var out []Frame
	for _, b := range chunk {
		f.buf = append(f.buf, b)
		ends := bytes.HasSuffix(f.buf, f.suffix)
		if f.discard {
			if ends {
				f.discard = false
				f.buf = f.buf[:0]
			} else {
				f.keepTail()
			}
			continue
		}
		if ends {
			line := f.buf[:len(f.buf)-len(f.suffix)]
			if err := checkLine(line); err != nil {
				out = append(out, Frame{Err: err})
			} else {
				out = append(out, Frame{Line: string(line)})
			}
			f.buf = f.buf[:0]
			continue
		}
		// Bytes past the maximum are fine only while they may still be
		// the start of the suffix.
		if len(f.buf) > f.max && !bytes.HasPrefix(f.suffix, f.buf[f.max:]) {
			out = append(out, Frame{Err: &BadLineError{Kind: BadTooLong, Len: f.max,
				Detail: fmt.Sprintf("more than %d bytes without a line end; discarding up to the next one", f.max)}})
			f.discard = true
			f.keepTail()
		}
	}
	return out
}

// keepTail keeps only what may be the start of the suffix: all a discard
// needs to find the line end, even one split across chunks.
func (f *Framer) keepTail() {
	if keep := len(f.suffix) - 1; len(f.buf) > keep {
		f.buf = append(f.buf[:0], f.buf[len(f.buf)-keep:]...)
	}
}

// Idle tells the framer nothing arrived until now. A partial line whose
// last byte is older than the gap is dropped with an error; a discard in
// progress ends (the next scan starts afresh).
func (f *Framer) Idle(now time.Time) []Frame {
	if len(f.buf) == 0 && !f.discard || now.Sub(f.last) < f.gap {
		return nil
	}
	if f.discard {
		f.discard = false
		f.buf = f.buf[:0]
		return nil
	}
	n := len(f.buf)
	f.buf = f.buf[:0]
	return []Frame{{Err: &BadLineError{Kind: BadPartial, Len: n,
		Detail: fmt.Sprintf("%d bytes without a line end, then %v of silence", n, now.Sub(f.last).Round(time.Millisecond))}}}
}

// Abort drops a line in progress (the scanner is being armed or disarmed)
// and skips its remainder up to the next suffix or silence, so that the
// tail of a code is never taken for a whole one. It returns the error
// describing what was dropped, or nil.
func (f *Framer) Abort() error {
	if len(f.buf) == 0 || f.discard {
		return nil
	}
	n := len(f.buf)
	f.buf = f.buf[:0]
	f.discard = true
	return &BadLineError{Kind: BadPartial, Len: n, Detail: fmt.Sprintf("%d bytes without a line end when the scanner was disarmed", n)}
}

// Pending is the number of bytes held for an incomplete line.
func (f *Framer) Pending() int { return len(f.buf) }

// checkLine accepts only printable text: anything else is line noise, a
// wrong baud rate or framing, or a module set up to send something else.
func checkLine(line []byte) error {
	if len(line) == 0 {
		return &BadLineError{Kind: BadEmpty, Detail: "line end with no code before it"}
	}
	for i, b := range line {
		if isControl(b) {
			return &BadLineError{Kind: BadNoise, Len: len(line), Detail: fmt.Sprintf("control byte %#02x at offset %d", b, i)}
		}
	}
	for i := 0; i < len(line); {
		r, size := utf8.DecodeRune(line[i:])
		if r == utf8.RuneError {
			if size == 1 {
				return &BadLineError{Kind: BadNoise, Len: len(line), Detail: fmt.Sprintf("invalid UTF-8 at offset %d (wrong baud rate or framing?)", i)}
			}
			return &BadLineError{Kind: BadNoise, Len: len(line), Detail: fmt.Sprintf("replacement character at offset %d", i)}
		}
		if !unicode.IsGraphic(r) {
			return &BadLineError{Kind: BadNoise, Len: len(line), Detail: fmt.Sprintf("unprintable U+%04X at offset %d", r, i)}
		}
		i += size
	}
	return nil
}

// Decode turns a clean line into a code. With aim, the line must start
// with an AIM symbology identifier ("]" letter modifier), which is
// stripped; without, the symbology is not known and is reported as
// hal.SymOther. The text is otherwise kept exactly.
func Decode(line string, aim bool) (hal.Code, error) {
	if !aim {
		return hal.Code{Symbology: hal.SymOther, Text: line}, nil
	}
	if len(line) < 3 || line[0] != ']' {
		return hal.Code{}, &BadLineError{Kind: BadAIM, Len: len(line), Detail: "no AIM symbology identifier (]Xn) at the start; is the module's AIM prefix on?"}
	}
	if len(line) == 3 {
		return hal.Code{}, &BadLineError{Kind: BadEmpty, Len: 3, Detail: "AIM identifier with no code after it"}
	}
	sym := hal.SymOther
	switch id := line[1:3]; {
	case id[0] == 'Q':
		sym = hal.SymQR
	case id[0] == 'C':
		sym = hal.SymCode128
	case id == "E0" || id == "E3": // E3: EAN-13 with add-on; E4 is EAN-8
		sym = hal.SymEAN13
	}
	return hal.Code{Symbology: sym, Text: line[3:]}, nil
}
