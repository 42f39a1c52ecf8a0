// Package escposemu is an ESC/POS printer in software: it interprets the
// byte stream a receipt printer receives, prints it onto a paper roll of
// 1-bit dot rows at the profile's width with the glyphs a Chinese printer
// would use, answers status requests as the printer would, and can run
// out of paper or have its cover opened mid-job. It interprets what any
// ESC/POS producer sends, not only this project's driver: commands it
// does not draw are skipped by their documented lengths and reported,
// never printed as text.
package escposemu

import (
	"fmt"
	"io"
	"sync"

	"github.com/shoukuan/pos/drivers/escpos"
	"github.com/shoukuan/pos/drivers/glyph"
)

// Options configure an emulator.
type Options struct {
	// PaperRows is the paper on the roll, in dot rows (8 per mm); 0 is an
	// endless roll.
	PaperRows int
	// NearEndRows: below this much paper the near-end sensor is on (2000
	// rows, 25 cm).
	NearEndRows int
}

// Page is what came out between two cuts (or two jobs on a printer
// without a cutter): dot rows, and the text of its lines for searching.
type Page struct {
	Rows  [][]byte // each Dots/8 bytes, MSB leftmost, 1 = black
	Lines []string // text lines as printed; an image line is "[image]"
}

// Emulator is one printer. It is safe for concurrent use.
type Emulator struct {
	prof escpos.Profile
	font *glyph.Font

	mu       sync.Mutex
	cond     *sync.Cond // signals out and closed
	out      []byte     // answers not yet read by the host
	queue    []byte     // received, not yet interpreted
	rt       []byte     // the last bytes of a real-time request split across writes
	paper    int        // rows left; -1 endless
	nearEnd  int
	coverOpn bool
	st       state
	line     []placed
	pages    []Page
	cur      Page
	unknown  []string
	received int
	closed   bool
}

// New returns an emulator with paper loaded, for a profile (its dots).
func New(prof escpos.Profile, o Options) *Emulator {
	font, _ := glyph.Default()
	e := &Emulator{prof: prof, font: font, paper: -1, nearEnd: o.NearEndRows}
	if o.PaperRows > 0 {
		e.paper = o.PaperRows
	}
	if e.nearEnd == 0 {
		e.nearEnd = 2000
	}
	e.cond = sync.NewCond(&e.mu)
	e.st.reset()
	return e
}

// Write receives bytes from the host. Real-time requests (DLE EOT) are
// answered at once, wherever they are in the stream, as a printer does;
// the rest is interpreted as far as the paper and the cover allow.
func (e *Emulator) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return 0, io.ErrClosedPipe
	}
	e.received += len(p)
	e.scanRealTime(p)
	e.queue = append(e.queue, p...)
	e.run()
	return len(p), nil
}

// scanRealTime answers DLE EOT n in the raw stream, even across writes.
func (e *Emulator) scanRealTime(p []byte) {
	buf := append(e.rt, p...)
	for i := 0; i+2 < len(buf); i++ {
		if buf[i] == 0x10 && buf[i+1] == 0x04 && buf[i+2] >= 1 && buf[i+2] <= 4 {
			e.answer(e.realTime(buf[i+2]))
		}
	}
	e.rt = append([]byte(nil), buf[max(0, len(buf)-2):]...)
}

func (e *Emulator) realTime(n byte) byte {
	b := byte(0x12)
	out := e.paper == 0
	switch n {
	case 1:
		if out || e.coverOpn {
			b |= 0x08
		}
	case 2:
		if e.coverOpn {
			b |= 0x04
		}
		if out {
			b |= 0x20
		}
	case 4:
		if e.paper >= 0 && e.paper < e.nearEnd {
			b |= 0x0c
		}
		if out {
			b |= 0x60
		}
	}
	return b
}

func (e *Emulator) answer(b ...byte) {
	e.out = append(e.out, b...)
	e.cond.Broadcast()
}

// Read returns the printer's answers, blocking until there are some.
func (e *Emulator) Read(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for len(e.out) == 0 && !e.closed {
		e.cond.Wait()
	}
	if len(e.out) == 0 {
		return 0, io.EOF
	}
	n := copy(p, e.out)
	e.out = e.out[n:]
	return n, nil
}

// Close ends pending reads; the printed pages stay readable.
func (e *Emulator) Close() error {
	e.mu.Lock()
	e.closed = true
	e.cond.Broadcast()
	e.mu.Unlock()
	return nil
}

// LoadPaper puts rows of paper in (0: an endless roll) and resumes what
// the printer had buffered.
func (e *Emulator) LoadPaper(rows int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.paper = -1
	if rows > 0 {
		e.paper = rows
	}
	e.run()
}

// SetCoverOpen opens or closes the cover; an open cover stops printing.
func (e *Emulator) SetCoverOpen(open bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.coverOpn = open
	e.run()
}

// Pages are the pages cut so far, and the one being printed when it has
// anything on it.
func (e *Emulator) Pages() []Page {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := append([]Page(nil), e.pages...)
	if len(e.cur.Rows) > 0 {
		out = append(out, Page{Rows: append([][]byte(nil), e.cur.Rows...), Lines: append([]string(nil), e.cur.Lines...)})
	}
	return out
}

// TakePages returns the finished pages and forgets them (the virtual
// printer saves them as they come).
func (e *Emulator) TakePages() []Page {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.pages
	e.pages = nil
	return out
}

// Finish ends the page being printed, as a tear-off does.
func (e *Emulator) Finish() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.endPage()
}

// Unknown lists the commands received that it did not draw, with what it
// skipped, in order.
func (e *Emulator) Unknown() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.unknown...)
}

// Received is the number of bytes received.
func (e *Emulator) Received() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.received
}

// Pending is the number of bytes received and not yet printed (held
// while the paper is out or the cover open).
func (e *Emulator) Pending() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.queue)
}

func (e *Emulator) report(format string, args ...any) {
	if len(e.unknown) < 1000 {
		e.unknown = append(e.unknown, fmt.Sprintf(format, args...))
	}
}

func (e *Emulator) endPage() {
	e.flushLine(false)
	if len(e.cur.Rows) > 0 {
		e.pages = append(e.pages, e.cur)
	}
	e.cur = Page{}
}

// Conn is a line to the emulator for a driver in the same process; closing
// it leaves the emulator running for the next one.
func (e *Emulator) Conn() io.ReadWriteCloser { return &conn{e: e} }

type conn struct {
	e      *Emulator
	closed bool // under e.mu
}

func (c *conn) Write(p []byte) (int, error) {
	c.e.mu.Lock()
	closed := c.closed
	c.e.mu.Unlock()
	if closed {
		return 0, io.ErrClosedPipe
	}
	return c.e.Write(p)
}

func (c *conn) Read(p []byte) (int, error) {
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	for len(e.out) == 0 && !e.closed && !c.closed {
		e.cond.Wait()
	}
	if len(e.out) == 0 || c.closed {
		return 0, io.EOF
	}
	n := copy(p, e.out)
	e.out = e.out[n:]
	return n, nil
}

func (c *conn) Close() error {
	c.e.mu.Lock()
	c.closed = true
	c.e.cond.Broadcast()
	c.e.mu.Unlock()
	return nil
}

// RunOut empties the roll, as when the paper runs out between jobs.
func (e *Emulator) RunOut() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.paper = 0
}
