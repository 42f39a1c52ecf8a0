package escposemu

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/shoukuan/pos/drivers/escpos"
)

// state is what ESC @ resets.
type state struct {
	bold    bool
	sw, sh  int // character magnification, 1-8
	kw, kh  int // FS ! double-byte magnification, 1-2
	align   byte
	kanji   bool
	spacing int // line feed in dots
	x       int // next dot of the line
	qrSize  int
	qrEC    string
	qrData  []byte
}

func (s *state) reset() {
	*s = state{sw: 1, sh: 1, kw: 1, kh: 1, spacing: escpos.LineRows, qrSize: 3, qrEC: "L"}
}

// placed is a character waiting on the line for LF.
type placed struct {
	r        rune
	x, cells int
	sw, sh   int
	bold     bool
}

// Fixed parameter counts of the commands it knows but does not need to
// look inside (ESC/POS as Epson documents it).
var (
	escParams = map[byte]int{'@': 0, 'E': 1, 'G': 1, '!': 1, 'a': 1, 'd': 1, 'J': 1, '2': 0, '3': 1,
		'$': 2, '\\': 2, '-': 1, 'M': 1, 't': 1, 'R': 1, 'V': 1, '{': 1, 'c': 2, 'p': 3, ' ': 1,
		'=': 1, '?': 1, 'r': 1, 'U': 1, 'e': 1, 'i': 0, 'm': 0, 'L': 0, 'S': 0, 'W': 8, 'T': 1,
		'%': 1, 'B': 2, 'K': 1}
	gsParams = map[byte]int{'!': 1, 'B': 1, 'b': 1, 'H': 1, 'h': 1, 'w': 1, 'f': 1, 'a': 1, 'r': 1,
		'I': 1, 'L': 2, 'W': 2, '$': 2, '\\': 2, 'P': 2, '/': 1, 'T': 1, ':': 0, 'E': 1, 'Z': 1, 'g': 2, 'j': 1}
	fsParams = map[byte]int{'&': 0, '.': 0, '!': 1, '-': 1, 'C': 1, 'S': 2, 'W': 1, 'p': 2, 'r': 1, 'U': 0, 'V': 1}
)

// stopped: a printer with its paper out or its cover open holds what it
// receives until the paper or the cover is seen to.
func (e *Emulator) stopped() bool { return e.paper == 0 || e.coverOpn }

// run interprets the queue as far as it can.
func (e *Emulator) run() {
	for len(e.queue) > 0 && !e.stopped() {
		n := e.step(e.queue)
		if n == 0 {
			break // an incomplete command: wait for the rest
		}
		e.queue = e.queue[n:]
	}
	if len(e.queue) == 0 {
		e.queue = nil
	}
}

// need returns n when q holds n bytes, else 0 (wait for more).
func need(q []byte, n int) int {
	if len(q) < n {
		return 0
	}
	return n
}

// step interprets the command at the head of q and returns its length,
// or 0 when q does not hold all of it yet.
func (e *Emulator) step(q []byte) int {
	c := q[0]
	switch {
	case c == 0x0a:
		e.flushLine(true)
		return 1
	case c == 0x0c:
		e.flushLine(false)
		return 1
	case c == 0x09:
		tab := 8 * escpos.CellDots * e.st.sw
		e.st.x = (e.st.x/tab + 1) * tab
		if e.st.x >= e.prof.Dots {
			e.flushLine(true)
		}
		return 1
	case c == 0x1b:
		return e.esc(q)
	case c == 0x1d:
		return e.gs(q)
	case c == 0x1c:
		return e.fs(q)
	case c == 0x10:
		return e.dle(q)
	case c < 0x20 || c == 0x7f:
		return 1 // CR and the other controls do nothing on a receipt printer
	case c < 0x80:
		e.addChar(rune(c), 1)
		return 1
	case e.st.kanji && c >= 0x81 && c <= 0xfe:
		return e.doubleByte(q)
	}
	r, _ := utf8.DecodeRune(mustDecode(charmap.CodePage437, q[:1]))
	e.addChar(r, 1)
	return 1
}

func mustDecode(cm *charmap.Charmap, b []byte) []byte {
	out, err := cm.NewDecoder().Bytes(b)
	if err != nil {
		return []byte("?")
	}
	return out
}

// doubleByte prints a GB18030 character (two bytes, or four with a digit
// second byte).
func (e *Emulator) doubleByte(q []byte) int {
	if len(q) < 2 {
		return 0
	}
	n := 2
	if q[1] >= 0x30 && q[1] <= 0x39 {
		n = 4
		if len(q) < 4 {
			return 0
		}
	}
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(q[:n])
	r, _ := utf8.DecodeRune(out)
	if err != nil || r == utf8.RuneError {
		r = 0xfffd
	}
	e.addChar(r, 2)
	return n
}

func (e *Emulator) esc(q []byte) int {
	if len(q) < 2 {
		return 0
	}
	cmd := q[1]
	switch cmd {
	case 'D': // tab stops, up to NUL
		for i := 2; i < len(q) && i < 40; i++ {
			if q[i] == 0 {
				return i + 1
			}
		}
		if len(q) >= 40 {
			return 40
		}
		return 0
	case '*': // ESC * m nL nH: column bit image
		if len(q) < 5 {
			return 0
		}
		k := int(q[3]) | int(q[4])<<8
		if q[2] >= 32 {
			k *= 3
		}
		if need(q, 5+k) == 0 {
			return 0
		}
		e.report("ESC * bit image (%d bytes) not drawn", 5+k)
		return 5 + k
	case '&': // ESC & y c1 c2 [x d1..d(y*x)]...: user-defined characters
		if len(q) < 5 {
			return 0
		}
		y, n, i := int(q[2]), int(q[4])-int(q[3])+1, 5
		for ; n > 0; n-- {
			if len(q) <= i {
				return 0
			}
			i += 1 + y*int(q[i])
		}
		if need(q, i) == 0 {
			return 0
		}
		e.report("ESC & user-defined characters (%d bytes) not drawn", i)
		return i
	}
	np, ok := escParams[cmd]
	if !ok {
		e.report("unknown command ESC 0x%02x: skipped 2 bytes", cmd)
		return 2
	}
	if need(q, 2+np) == 0 {
		return 0
	}
	a := q[2 : 2+np]
	switch cmd {
	case '@':
		e.flushLine(false)
		if len(e.cur.Rows) > 0 {
			e.endPage() // a printer without a cutter: each job is a page
		}
		e.st.reset()
	case 'E', 'G':
		e.st.bold = a[0]&1 != 0
	case '!':
		e.st.bold = a[0]&0x08 != 0
		e.st.sh, e.st.sw = 1+int(a[0]>>4&1), 1+int(a[0]>>5&1)
	case 'a':
		e.st.align = a[0] % 48
	case 'd':
		e.flushLine(false)
		e.feed(int(a[0]) * e.st.spacing)
	case 'J':
		e.flushLine(false)
		e.feed(int(a[0]))
	case '2':
		e.st.spacing = escpos.LineRows
	case '3':
		e.st.spacing = int(a[0])
	case '$':
		if x := int(a[0]) | int(a[1])<<8; x < e.prof.Dots {
			e.st.x = x
		}
	case '\\':
		if x := e.st.x + int(int16(uint16(a[0])|uint16(a[1])<<8)); x >= 0 && x < e.prof.Dots {
			e.st.x = x
		}
	case 'i', 'm':
		e.cut()
	case 'L', 'S', 'W', 'T':
		e.report("page mode command ESC %c ignored", cmd)
	}
	return 2 + np
}

func (e *Emulator) gs(q []byte) int {
	if len(q) < 2 {
		return 0
	}
	cmd := q[1]
	switch cmd {
	case 'v': // GS v 0 m xL xH yL yH d...
		if len(q) < 8 {
			return 0
		}
		xb, h := int(q[4])|int(q[5])<<8, int(q[6])|int(q[7])<<8
		if need(q, 8+xb*h) == 0 {
			return 0
		}
		e.raster(q[8:8+xb*h], xb, h, q[3])
		return 8 + xb*h
	case '(': // GS ( fn pL pH ...
		if len(q) < 5 {
			return 0
		}
		n := 5 + (int(q[3]) | int(q[4])<<8)
		if need(q, n) == 0 {
			return 0
		}
		if q[2] == 'k' {
			e.code2D(q[5:n])
		} else {
			e.report("GS ( %c (%d bytes) not drawn", q[2], n)
		}
		return n
	case '8': // GS 8 L p1 p2 p3 p4 ...: graphics with a 32-bit length
		if len(q) < 7 {
			return 0
		}
		n := 7 + (int(q[3]) | int(q[4])<<8 | int(q[5])<<16 | int(q[6])<<24)
		if n < 7 || n > 1<<26 {
			e.report("GS 8 with an impossible length: skipped 2 bytes")
			return 2
		}
		if need(q, n) == 0 {
			return 0
		}
		e.report("GS 8 %c graphics (%d bytes) not drawn", q[2], n)
		return n
	case 'V': // GS V m [n]
		if len(q) < 3 {
			return 0
		}
		n := 3
		if q[2] >= 65 {
			n = 4
			if len(q) < 4 {
				return 0
			}
			e.flushLine(false)
			e.feed(int(q[3]))
		}
		e.cut()
		return n
	case 'k': // GS k m ...: barcode
		if len(q) < 3 {
			return 0
		}
		if q[2] <= 6 {
			for i := 3; i < len(q) && i < 300; i++ {
				if q[i] == 0 {
					e.report("GS k barcode (%d bytes) not drawn", i+1)
					return i + 1
				}
			}
			if len(q) >= 300 {
				return 300
			}
			return 0
		}
		if len(q) < 4 || need(q, 4+int(q[3])) == 0 {
			return 0
		}
		e.report("GS k barcode (%d bytes) not drawn", 4+int(q[3]))
		return 4 + int(q[3])
	case '*': // GS * x y d...: downloaded bit image
		if len(q) < 4 {
			return 0
		}
		n := 4 + int(q[2])*int(q[3])*8
		if need(q, n) == 0 {
			return 0
		}
		e.report("GS * downloaded image (%d bytes) not drawn", n)
		return n
	}
	np, ok := gsParams[cmd]
	if !ok {
		e.report("unknown command GS 0x%02x: skipped 2 bytes", cmd)
		return 2
	}
	if need(q, 2+np) == 0 {
		return 0
	}
	a := q[2 : 2+np]
	switch cmd {
	case '!':
		e.st.sw, e.st.sh = 1+int(a[0]>>4&7), 1+int(a[0]&7)
	case 'r': // answered in turn: the paper sensor, or the drawer
		if a[0] == 1 || a[0] == 49 {
			var b byte
			if e.paper >= 0 && e.paper < e.nearEnd {
				b |= 0x03
			}
			if e.paper == 0 {
				b |= 0x0c
			}
			e.answer(b)
		} else {
			e.answer(0)
		}
	case 'I':
		switch a[0] {
		case 1, 49:
			e.answer(0x20) // model
		case 2, 50:
			e.answer(0x02) // multi-byte font fitted
		case 3, 51:
			e.answer(0x10)
		default:
			e.answer(append(append([]byte{'_'}, "POS-EMU"...), 0)...)
		}
	case '/':
		e.report("GS / print of a downloaded image not drawn")
	}
	return 2 + np
}

func (e *Emulator) fs(q []byte) int {
	if len(q) < 2 {
		return 0
	}
	cmd := q[1]
	switch cmd {
	case '2': // FS 2 c1 c2 d1..d72: a user-defined Chinese character
		if need(q, 76) == 0 {
			return 0
		}
		e.report("FS 2 user-defined character not drawn")
		return 76
	case 'q': // FS q n [xL xH yL yH d...]...: NV images
		if len(q) < 3 {
			return 0
		}
		i := 3
		for k := int(q[2]); k > 0; k-- {
			if len(q) < i+4 {
				return 0
			}
			i += 4 + (int(q[i])|int(q[i+1])<<8)*(int(q[i+2])|int(q[i+3])<<8)*8
		}
		if need(q, i) == 0 {
			return 0
		}
		e.report("FS q NV images (%d bytes) stored, not drawn", i)
		return i
	}
	np, ok := fsParams[cmd]
	if !ok {
		e.report("unknown command FS 0x%02x: skipped 2 bytes", cmd)
		return 2
	}
	if need(q, 2+np) == 0 {
		return 0
	}
	switch cmd {
	case '&':
		e.st.kanji = true
	case '.':
		e.st.kanji = false
	case '!':
		e.st.kw, e.st.kh = 1+int(q[2]>>2&1), 1+int(q[2]>>3&1)
	case 'p':
		e.report("FS p NV image print not drawn")
	}
	return 2 + np
}

func (e *Emulator) dle(q []byte) int {
	if len(q) < 3 {
		return 0
	}
	switch q[1] {
	case 0x04, 0x05: // DLE EOT was answered on arrival; DLE ENQ has no answer
		return 3
	case 0x14: // DLE DC4 fn ...
		n := 5
		if q[2] == 8 {
			n = 10
		}
		return need(q, n)
	}
	e.report("unknown command DLE 0x%02x: skipped 2 bytes", q[1])
	return 2
}

// code2D handles GS ( k: the QR code functions (cn 49); other symbols are
// reported.
func (e *Emulator) code2D(p []byte) {
	if len(p) < 2 || p[0] != '1' {
		e.report("GS ( k 2D code cn %d not drawn", firstOr(p))
		return
	}
	args := p[2:]
	switch p[1] {
	case 'A': // model
	case 'C':
		if len(args) > 0 && args[0] >= 1 && args[0] <= 16 {
			e.st.qrSize = int(args[0])
		}
	case 'E':
		if len(args) > 0 && args[0] >= 48 && args[0] <= 51 {
			e.st.qrEC = string("LMQH"[args[0]-48])
		}
	case 'P':
		if len(args) > 0 {
			e.st.qrData = append([]byte(nil), args[1:]...)
		}
	case 'Q':
		e.printQR()
	case 'R':
		e.answer(0x37, 0x22, 0x39, 0x00) // size information, not used by a terminal
	default:
		e.report("GS ( k QR function %d not known", p[1])
	}
}

func firstOr(p []byte) int {
	if len(p) == 0 {
		return -1
	}
	return int(p[0])
}

func (e *Emulator) printQR() {
	e.flushLine(false)
	if len(e.st.qrData) == 0 {
		e.report("GS ( k print with no QR data stored")
		return
	}
	hints := map[gozxing.EncodeHintType]any{
		gozxing.EncodeHintType_ERROR_CORRECTION: e.st.qrEC,
		gozxing.EncodeHintType_MARGIN:           0,
	}
	if !utf8.Valid(e.st.qrData) || strings.ContainsFunc(string(e.st.qrData), func(r rune) bool { return r >= 0x80 }) {
		hints[gozxing.EncodeHintType_CHARACTER_SET] = "UTF-8"
	}
	m, err := qrcode.NewQRCodeWriter().Encode(string(e.st.qrData), gozxing.BarcodeFormat_QR_CODE, 0, 0, hints)
	if err != nil {
		e.report("QR code not printable: %v", err)
		return
	}
	n := e.st.qrSize
	size := m.GetWidth() * n
	if size > e.prof.Dots {
		e.report("QR code of %d dots wider than the paper (%d): not printed", size, e.prof.Dots)
		return
	}
	x0 := e.alignOffset(size)
	rows := make([][]byte, size)
	for y := range rows {
		rows[y] = make([]byte, e.prof.Dots/8)
		for x := 0; x < size; x++ {
			if m.Get(x/n, y/n) {
				setDot(rows[y], x0+x)
			}
		}
	}
	e.print(rows, fmt.Sprintf("[QR %s]", e.st.qrData))
}

func (e *Emulator) alignOffset(w int) int {
	switch e.st.align {
	case 1:
		return max(0, (e.prof.Dots-w)/2)
	case 2:
		return max(0, e.prof.Dots-w)
	}
	return 0
}

func setDot(row []byte, x int) {
	if x >= 0 && x/8 < len(row) {
		row[x/8] |= 0x80 >> (x % 8)
	}
}

// raster prints GS v 0 data, xb bytes by h rows, mode bit 0 doubling the
// width and bit 1 the height.
func (e *Emulator) raster(d []byte, xb, h int, mode byte) {
	e.flushLine(false)
	sx, sy := 1+int(mode&1), 1+int(mode>>1&1)
	x0 := e.alignOffset(xb * 8 * sx)
	var rows [][]byte
	for y := 0; y < h; y++ {
		row := make([]byte, e.prof.Dots/8)
		for x := 0; x < xb*8 && x*sx < e.prof.Dots; x++ {
			if d[y*xb+x/8]&(0x80>>(x%8)) != 0 {
				for k := 0; k < sx; k++ {
					setDot(row, x0+x*sx+k)
				}
			}
		}
		for k := 0; k < sy; k++ {
			rows = append(rows, row)
		}
	}
	e.print(rows, "[image]")
}

// addChar puts a character on the line; one that does not fit prints the
// line first, as a printer wraps.
func (e *Emulator) addChar(r rune, cells int) {
	sw, sh := e.st.sw, e.st.sh
	if cells == 2 {
		sw, sh = max(sw, e.st.kw), max(sh, e.st.kh)
	}
	w := cells * escpos.CellDots * sw
	if w > e.prof.Dots {
		return
	}
	if e.st.x+w > e.prof.Dots {
		e.flushLine(false)
	}
	e.line = append(e.line, placed{r: r, x: e.st.x, cells: cells, sw: sw, sh: sh, bold: e.st.bold})
	e.st.x += w
}

// flushLine prints the line buffer. lf: an LF on an empty line still
// feeds a line.
func (e *Emulator) flushLine(lf bool) {
	if len(e.line) == 0 {
		e.st.x = 0
		if lf {
			e.feed(e.st.spacing)
		}
		return
	}
	charRows, width := 0, 0
	for _, p := range e.line {
		charRows = max(charRows, escpos.CharRows*p.sh)
		width = max(width, p.x+p.cells*escpos.CellDots*p.sw)
	}
	height := max(charRows, e.st.spacing)
	rows := make([][]byte, height)
	for i := range rows {
		rows[i] = make([]byte, e.prof.Dots/8)
	}
	off := e.alignOffset(width)
	var text strings.Builder
	col := 0
	for _, p := range e.line {
		top := charRows - escpos.CharRows*p.sh // characters share a baseline
		x := off + p.x
		escpos.DrawGlyph(e.font, p.r, p.cells, p.sw, p.sh, p.bold, func(dx, dy int) {
			if y := top + dy; y >= 0 && y < height {
				setDot(rows[y], x+dx)
			}
		})
		for c := (off + p.x) / escpos.CellDots; col < c; col++ {
			text.WriteByte(' ')
		}
		text.WriteRune(p.r)
		col += p.cells * p.sw
	}
	e.line = e.line[:0]
	e.st.x = 0
	e.print(rows, strings.TrimRight(text.String(), " "))
}

func (e *Emulator) feed(rows int) {
	rows = min(rows, 1<<14) // ESC d 255 at ESC 3 255: 16 m of paper is plenty
	blank := make([][]byte, rows)
	for i := range blank {
		blank[i] = make([]byte, e.prof.Dots/8)
	}
	e.print(blank, "")
}

// print moves rows onto the paper as far as the paper goes.
func (e *Emulator) print(rows [][]byte, text string) {
	if e.paper >= 0 {
		if len(rows) > e.paper {
			rows = rows[:e.paper] // the rest fell off the end of the roll
		}
		e.paper -= len(rows)
	}
	e.cur.Rows = append(e.cur.Rows, rows...)
	if text != "" || len(rows) > 0 {
		e.cur.Lines = append(e.cur.Lines, text)
	}
}

func (e *Emulator) cut() {
	e.flushLine(false)
	e.endPage()
}
