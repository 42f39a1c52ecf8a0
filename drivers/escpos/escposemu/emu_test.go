package escposemu

import (
	"bytes"
	"strings"
	"testing"

	"github.com/shoukuan/pos/drivers/escpos"
)

func emu(t testing.TB, o Options) *Emulator {
	t.Helper()
	p, err := escpos.LookupProfile("58mm")
	if err != nil {
		t.Fatal(err)
	}
	return New(p, o)
}

func feed(e *Emulator, parts ...[]byte) {
	for _, p := range parts {
		e.Write(p)
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// What another producer sends: commands this emulator does not draw are
// skipped by their length and reported, and never come out as text.
func TestForeignCommandsSkippedNotPrinted(t *testing.T) {
	e := emu(t, Options{})
	feed(e, cat(
		[]byte{0x1b, '@', 0x1b, 't', 0, 0x1b, 'p', 0, 25, 250}, // code page, cash drawer kick
		[]byte{0x1d, 'k', 4}, []byte("CODE39ABC"), []byte{0}, // barcode, NUL-terminated
		[]byte{0x1d, 'k', 73, 5}, []byte("{B123"), // barcode with a length
		[]byte{0x1b, '*', 33, 2, 0}, bytes.Repeat([]byte{0xff}, 6), // column image
		[]byte{0x1d, '(', 'L', 2, 0, 48, 69}, // graphics function
		[]byte{0x1b, 0x7e, 'Z'},              // not a command at all
		[]byte("OK\n"),
	))
	pages := e.Pages()
	if len(pages) != 1 || len(pages[0].Lines) != 1 || pages[0].Lines[0] != "ZOK" {
		t.Fatalf("printed %q", pages[0].Lines)
	}
	u := strings.Join(e.Unknown(), "\n")
	for _, want := range []string{"GS k barcode (13 bytes)", "GS k barcode (9 bytes)", "ESC * bit image (11 bytes)", "GS ( L (7 bytes)", "unknown command ESC 0x7e"} {
		if !strings.Contains(u, want) {
			t.Errorf("report lacks %q:\n%s", want, u)
		}
	}
}

// DLE EOT is answered at once, even inside an image's data, and even with
// the paper out; GS r waits its turn.
func TestStatusAnswers(t *testing.T) {
	e := emu(t, Options{PaperRows: 30, NearEndRows: 5})
	c := e.Conn()
	read := func() []byte {
		e.mu.Lock()
		defer e.mu.Unlock()
		b := e.out
		e.out = nil
		return b
	}
	feed(e, []byte{0x1d, 'v', '0', 0, 1, 0, 2, 0, 0x10, 0x04}, []byte{0x04})
	if got := read(); !bytes.Equal(got, []byte{0x12}) {
		t.Fatalf("DLE EOT 4 split across writes inside image data: % x", got)
	}
	feed(e, []byte("line one\nline two\n"), []byte{0x1d, 'r', 1})
	if got := read(); len(got) != 0 {
		t.Fatalf("GS r answered before its turn (paper out): % x", got)
	}
	feed(e, []byte{0x10, 0x04, 1, 0x10, 0x04, 2, 0x10, 0x04, 4})
	if got := read(); !bytes.Equal(got, []byte{0x1a, 0x32, 0x7e}) {
		t.Fatalf("paper out status % x", got)
	}
	e.LoadPaper(0)
	if got := read(); !bytes.Equal(got, []byte{0x00}) {
		t.Fatalf("GS r after loading paper: % x", got)
	}
	c.Close()
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatal("read after close")
	}
}

// Text in GB18030 double-byte mode, the code page outside it, sizes and
// alignment.
func TestTextModes(t *testing.T) {
	e := emu(t, Options{})
	gb := []byte{0xc4, 0xe3, 0xba, 0xc3} // 你好
	feed(e, cat(
		[]byte{0x1b, '@', 0x1c, '&'}, gb, []byte{'\n'},
		[]byte{0x1c, '.', 0x9c, '\n'}, // £ in code page 437
		[]byte{0x1b, 'a', 2, 0x1d, '!', 0x11, 'R', '\n'},
		[]byte{0x1b, 'a', 0, 0x1d, '!', 0x00}, bytes.Repeat([]byte{'x'}, 33), []byte{'\n'},
	))
	pg := e.Pages()[0]
	want := []string{"你好", "£", strings.Repeat(" ", 30) + "R", strings.Repeat("x", 32), "x"}
	if strings.Join(pg.Lines, "|") != strings.Join(want, "|") {
		t.Fatalf("lines %q, want %q", pg.Lines, want)
	}
	if len(pg.Rows) != 30+30+48+30+30 {
		t.Fatalf("%d rows", len(pg.Rows))
	}
}

// A job on a printer without a cutter is a page; a cut ends one too.
func TestPages(t *testing.T) {
	e := emu(t, Options{})
	feed(e, []byte("\x1b@one\n\x1b@two\n\x1dV\x42\x00three\n"))
	pg := e.Pages()
	if len(pg) != 3 || pg[0].Lines[0] != "one" || pg[1].Lines[0] != "two" || pg[2].Lines[0] != "three" {
		t.Fatalf("pages %+v", pg)
	}
}

func FuzzInterpret(f *testing.F) {
	f.Add([]byte("\x1b@\x1c&\xc4\xe3\n\x1dv0\x00\x01\x00\x01\x00\xff\x1d(k\x03\x001C\x04\x1d(k\x05\x001P0ab\x1d(k\x03\x001Q0"))
	f.Add([]byte("\x1b*!\x02\x00abcdef\x1dk\x04AB\x00\x1dk\x49\x02{B\x10\x04\x01\x10\x14\x08\x01\x03\x14\x01\x06\x02\x08"))
	f.Add([]byte("\x1b&\x03\x20\x21\x02abcdef\x02abcdef\x1cq\x01\x01\x00\x01\x00" + strings.Repeat("\xaa", 8)))
	f.Add([]byte("\x1d8L\x06\x00\x00\x00\x30\x45\x00\x00\x00\x00\x1d!\x77W\x1b$\xff\x01\x1b\\\x00\x80\t\t\tX\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e := emu(t, Options{PaperRows: 2000})
		for len(data) > 0 {
			n := min(len(data), 7)
			e.Write(data[:n])
			data = data[n:]
		}
		e.Finish()
		for _, pg := range e.Pages() {
			for _, r := range pg.Rows {
				if len(r) != e.Dots()/8 {
					t.Fatalf("row of %d bytes", len(r))
				}
			}
		}
	})
}
