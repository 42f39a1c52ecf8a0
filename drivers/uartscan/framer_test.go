package uartscan_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shoukuan/pos/drivers/uartscan"
	"github.com/shoukuan/pos/hal"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func newFramer(t testing.TB, suffix string, max int) *uartscan.Framer {
	t.Helper()
	f, err := uartscan.NewFramer(suffix, max, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// describe renders frames as "line" or "!kind" for comparison.
func describe(fs []uartscan.Frame) []string {
	var out []string
	for _, f := range fs {
		if f.Err != nil {
			var bl *uartscan.BadLineError
			if !errors.As(f.Err, &bl) {
				out = append(out, "!?"+f.Err.Error())
				continue
			}
			out = append(out, "!"+bl.Kind)
			continue
		}
		out = append(out, f.Line)
	}
	return out
}

func TestFramerLines(t *testing.T) {
	for _, tc := range []struct {
		name, suffix string
		max          int
		in           string
		want         []string
	}{
		{"one code, leading zeros kept", "\r", 64, "0012345678901234567890\r", []string{"0012345678901234567890"}},
		{"two codes in one chunk", "\r", 64, "281234567890123456\r134567890123456789\r", []string{"281234567890123456", "134567890123456789"}},
		{"crlf url", "\r\n", 64, "https://qr.alipay.com/bax08431\r\n", []string{"https://qr.alipay.com/bax08431"}},
		{"lone CR inside a CRLF line is noise", "\r\n", 64, "12\r34\r\n56\r\n", []string{"!noise", "56"}},
		{"LF after CR suffix is noise on the next line", "\r", 64, "12\r\n34\r", []string{"12", "!noise"}},
		{"NUL is noise", "\r", 64, "12\x0034\r", []string{"!noise"}},
		{"DEL is noise", "\r", 64, "12\x7f\r", []string{"!noise"}},
		{"invalid utf-8", "\r", 64, "12\xff\xfe\r99\r", []string{"!noise", "99"}},
		{"C1 control rune", "\r", 64, "12\u008534\r", []string{"!noise"}},
		{"replacement char", "\r", 64, "12\ufffd\r", []string{"!noise"}},
		{"chinese text is printable", "\r", 64, "收款123\r", []string{"收款123"}},
		{"spaces are kept", "\r", 64, " 12 3 \r", []string{" 12 3 "}},
		{"empty line", "\r", 64, "\r7\r", []string{"!empty", "7"}},
		{"exactly max", "\r", 4, "1234\r", []string{"1234"}},
		{"exactly max with crlf", "\r\n", 4, "1234\r\n", []string{"1234"}},
		{"one over max", "\r", 4, "12345\r678\r", []string{"!too long", "678"}},
		{"over max, crlf split at the boundary", "\r\n", 3, "abcd\r\nxyz\r\n", []string{"!too long", "xyz"}},
		{"over max discards up to the suffix", "\r", 4, "123456789012345678901234\r42\r", []string{"!too long", "42"}},
		{"over max ending in CR of CRLF", "\r\n", 3, "abc\r\r\nok\r\n", []string{"!too long", "ok"}},
		{"CR inside CRLF line under max", "\r\n", 64, "abc\r\r\nok\r\n", []string{"!noise", "ok"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFramer(t, tc.suffix, tc.max)
			got := describe(f.Push(t0, []byte(tc.in)))
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			// and one byte at a time gives the same
			g := newFramer(t, tc.suffix, tc.max)
			var fs []uartscan.Frame
			for i := range len(tc.in) {
				fs = append(fs, g.Push(t0, []byte{tc.in[i]})...)
			}
			if got1 := describe(fs); strings.Join(got1, "|") != strings.Join(got, "|") {
				t.Fatalf("byte by byte %q, whole %q", got1, got)
			}
		})
	}
}

func TestFramerPartialAfterSilence(t *testing.T) {
	f := newFramer(t, "\r", 64)
	if fs := f.Push(t0, []byte("28123")); len(fs) != 0 {
		t.Fatalf("early frames %v", describe(fs))
	}
	if fs := f.Idle(t0.Add(10 * time.Millisecond)); len(fs) != 0 {
		t.Fatalf("partial dropped before the gap: %v", describe(fs))
	}
	fs := f.Idle(t0.Add(60 * time.Millisecond))
	var bl *uartscan.BadLineError
	if len(fs) != 1 || !errors.As(fs[0].Err, &bl) || bl.Kind != uartscan.BadPartial || bl.Len != 5 || !errors.Is(fs[0].Err, uartscan.ErrBadLine) {
		t.Fatalf("after silence: %v", fs)
	}
	if strings.Contains(fs[0].Err.Error(), "28123") {
		t.Fatalf("error leaks the bytes: %v", fs[0].Err)
	}
	if got := describe(f.Push(t0.Add(time.Second), []byte("456\r"))); strings.Join(got, "|") != "456" {
		t.Fatalf("next line %q", got)
	}
}

func TestFramerOverLongEndsAtSilence(t *testing.T) {
	// Garbage with no suffix must not swallow the next scan once the line
	// went quiet.
	f := newFramer(t, "\r", 8)
	if got := describe(f.Push(t0, bytes.Repeat([]byte{'9'}, 5000))); strings.Join(got, "|") != "!too long" {
		t.Fatalf("got %q", got)
	}
	if f.Pending() > 8 {
		t.Fatalf("framer holds %d bytes", f.Pending())
	}
	if fs := f.Idle(t0.Add(time.Second)); len(fs) != 0 {
		t.Fatalf("silence after a discard reported again: %v", describe(fs))
	}
	if got := describe(f.Push(t0.Add(time.Second), []byte("1234\r"))); strings.Join(got, "|") != "1234" {
		t.Fatalf("next line %q", got)
	}
}

func TestFramerAbortSkipsTheTail(t *testing.T) {
	f := newFramer(t, "\r", 64)
	f.Push(t0, []byte("281234"))
	err := f.Abort()
	var bl *uartscan.BadLineError
	if !errors.As(err, &bl) || bl.Kind != uartscan.BadPartial || bl.Len != 6 {
		t.Fatalf("abort: %v", err)
	}
	if f.Abort() != nil {
		t.Fatal("second abort reported again")
	}
	// the tail of the aborted code is not a code
	if got := describe(f.Push(t0, []byte("567890\r42\r"))); strings.Join(got, "|") != "42" {
		t.Fatalf("after abort %q", got)
	}
	if newFramer(t, "\r", 64).Abort() != nil {
		t.Fatal("abort with nothing pending")
	}
}

func TestNewFramerRejects(t *testing.T) {
	for _, c := range []struct {
		suffix string
		max    int
	}{{"", 10}, {"X", 10}, {"\r", 0}, {"\r\n\r\n\r", 10}} {
		if _, err := uartscan.NewFramer(c.suffix, c.max, 0); err == nil {
			t.Errorf("NewFramer(%q, %d) accepted", c.suffix, c.max)
		}
	}
}

func TestDecodeAIM(t *testing.T) {
	for line, want := range map[string]hal.Code{
		"]Q1https://qr.alipay.com/x": {Symbology: hal.SymQR, Text: "https://qr.alipay.com/x"},
		"]C0012345678901234567":      {Symbology: hal.SymCode128, Text: "012345678901234567"},
		"]E06901234567892":           {Symbology: hal.SymEAN13, Text: "6901234567892"},
		"]d2ABC":                     {Symbology: hal.SymOther, Text: "ABC"},
	} {
		got, err := uartscan.Decode(line, true)
		if err != nil || got != want {
			t.Errorf("Decode(%q) = %+v, %v; want %+v", line, got, err, want)
		}
	}
	for _, line := range []string{"012345", "]Q", "]Q1"} {
		if _, err := uartscan.Decode(line, true); !errors.Is(err, uartscan.ErrBadLine) {
			t.Errorf("Decode(%q) = %v, want ErrBadLine", line, err)
		}
	}
	// without AIM the text is the line, exactly
	if got, _ := uartscan.Decode("]Q1007", false); got != (hal.Code{Symbology: hal.SymOther, Text: "]Q1007"}) {
		t.Errorf("no aim: %+v", got)
	}
}

func TestParseSettings(t *testing.T) {
	for in, want := range map[string]string{"8N1": "8N1", "7e1": "7E1", "8O2": "8O2", "5N1": "5N1"} {
		f, err := uartscan.ParseFraming(in)
		if err != nil || f.String() != want {
			t.Errorf("ParseFraming(%q) = %v, %v", in, f, err)
		}
	}
	for _, in := range []string{"", "8N", "9N1", "8X1", "8M1", "8N3", "8N1 "} {
		if _, err := uartscan.ParseFraming(in); err == nil {
			t.Errorf("ParseFraming(%q) accepted", in)
		}
	}
	for in, want := range map[string]string{"CR": "\r", "lf": "\n", "CRLF": "\r\n"} {
		if got, err := uartscan.ParseSuffix(in); err != nil || got != want {
			t.Errorf("ParseSuffix(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := uartscan.ParseSuffix("TAB"); err == nil {
		t.Error("ParseSuffix(TAB) accepted")
	}
	if uartscan.CheckBaud(115200) != nil || uartscan.CheckBaud(9600) != nil || uartscan.CheckBaud(12345) == nil {
		t.Error("CheckBaud")
	}
}

// FuzzFramer feeds arbitrary bytes in arbitrary chunks. Invariants: no
// panic; every line is at most max bytes, printable, without control
// bytes or the suffix; the framer never holds more than max+suffix bytes;
// chunking does not change the result.
func FuzzFramer(f *testing.F) {
	f.Add([]byte("0012345678901234567890\r"), uint8(0), uint8(3), uint8(32))
	f.Add([]byte("https://qr.alipay.com/bax08431\r\n]Q1abc\r\n"), uint8(2), uint8(7), uint8(64))
	f.Add([]byte("12\x0034\r\xff\xfe\r\r\n"), uint8(0), uint8(1), uint8(16))
	f.Add([]byte("123456789012345678901234567890\r42\r"), uint8(0), uint8(5), uint8(8))
	f.Add([]byte("abcd\r\nxyz\r\n"), uint8(2), uint8(4), uint8(3))
	f.Add([]byte("收款\u0085\ufffd\r"), uint8(1), uint8(2), uint8(10))
	suffixes := []string{"\r", "\n", "\r\n"}
	f.Fuzz(func(t *testing.T, data []byte, suffixSel, chunk, maxSel uint8) {
		suffix := suffixes[int(suffixSel)%len(suffixes)]
		max := int(maxSel)%200 + 1
		whole := newFramer(t, suffix, max)
		ref := whole.Push(t0, data)
		check := func(fs []uartscan.Frame) {
			for _, fr := range fs {
				if fr.Err != nil {
					if !errors.Is(fr.Err, uartscan.ErrBadLine) {
						t.Fatalf("error not ErrBadLine: %v", fr.Err)
					}
					continue
				}
				l := fr.Line
				if len(l) == 0 || len(l) > max {
					t.Fatalf("line of %d bytes, max %d", len(l), max)
				}
				if strings.Contains(l, suffix) || strings.ContainsAny(l, "\r\n") || !utf8.ValidString(l) {
					t.Fatalf("bad line %q", l)
				}
				for _, r := range l {
					if r < 0x20 || r == 0x7f || !unicode.IsGraphic(r) {
						t.Fatalf("line %q has %U", l, r)
					}
				}
			}
		}
		check(ref)
		if whole.Pending() > max+len(suffix) {
			t.Fatalf("holds %d bytes", whole.Pending())
		}
		step := int(chunk)%17 + 1
		split := newFramer(t, suffix, max)
		var got []uartscan.Frame
		for i := 0; i < len(data); i += step {
			got = append(got, split.Push(t0, data[i:min(i+step, len(data))])...)
			if split.Pending() > max+len(suffix) {
				t.Fatalf("holds %d bytes", split.Pending())
			}
		}
		if a, b := describe(ref), describe(got); strings.Join(a, "\x00") != strings.Join(b, "\x00") {
			t.Fatalf("chunks of %d: %q, whole: %q", step, b, a)
		}
		// silence and abort never panic and leave a usable framer
		split.Idle(t0.Add(time.Hour))
		split.Abort()
		check(split.Push(t0.Add(2*time.Hour), []byte("1"+suffix+"2"+suffix)))
	})
}
