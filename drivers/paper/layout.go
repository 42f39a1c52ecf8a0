// Package paper lays a hal.Document out as lines of a receipt printer's
// paper: wrapping, label...value pairs, alignment and double size, measured
// in character columns with hal.CellWidth. The fake printer and the ESC/POS
// driver both print what it lays out, so the two agree to the column.
package paper

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/shoukuan/pos/hal"
)

const (
	defaultCols = 32 // 58 mm paper at normal size
	// MinCols keeps a double-size wide rune (4 columns) placeable, so
	// that no line ever has to exceed the paper.
	MinCols = 4
)

// Cols is the width Layout actually uses for cols.
func Cols(cols int) int {
	if cols <= 0 {
		return defaultCols
	}
	return max(cols, MinCols)
}

// Seg is a run of text placed on a line. Col is where it starts on
// the paper, in normal-size columns (what the PNG draws); TCol is where it
// starts in the text form of the line.
//
// The two differ only for double size: the text form writes each character
// once (so tests and the paper panel can search for "TOTAL") but keeps the
// alignment of the paper, so a right-aligned double amount still ends at
// the right edge of the text line.
type Seg struct {
	Text      string
	Col, TCol int
}

// Line is one printed line as both Layout and RenderPNG see it.
type Line struct {
	Segs  []Seg
	Scale int // 1 normal, 2 double width and height
	Bold  bool
}

// Text is the line as text: each character once, placed as on paper.
func (l Line) Text() string {
	var b strings.Builder
	at := 0
	for _, s := range l.Segs {
		if s.Text == "" {
			continue
		}
		for ; at < s.TCol; at++ {
			b.WriteByte(' ')
		}
		b.WriteString(s.Text)
		at += hal.StringWidth(s.Text)
	}
	return b.String()
}

// Layout lays doc out as text lines for paper cols characters wide at
// normal size (0 or less means 32; less than 4 means 4). No line is wider
// than cols cells as measured by hal.CellWidth.
//
// Text wraps between English words and between Chinese characters, never
// inside a wide rune; the spaces where a line breaks are dropped and lines
// carry no trailing blanks. A newline in Text starts a new line. Double size wraps
// at half the width; its text writes each character once (searchable),
// aligned on the text line as it is on paper. A pair (Element.Right) always has its label left
// aligned; the value goes flush right on the label's last line when a
// space still separates them, otherwise right aligned on its own line(s).
// Bold does not show in text. QR codes and images show as "[QR] payload"
// and "[image WxH]". Layout never fails: an invalid element shows as a
// bracketed note, and Print rejects such documents before laying them out.
func Layout(doc hal.Document, cols int) []string {
	cols = Cols(cols)
	var out []string
	for _, e := range doc.Elements {
		for _, l := range Element(e, cols) {
			out = append(out, l.Text())
		}
	}
	return out
}

// Element lays out one element for paper cols wide (as Cols sees it).
func Element(e hal.Element, cols int) []Line {
	switch e.Kind {
	case hal.KindText:
		return layoutText(e, cols)
	case hal.KindSeparator:
		return []Line{plain(strings.Repeat("-", cols))}
	case hal.KindFeed:
		return []Line{{Scale: 1}}
	case hal.KindCut:
		return []Line{plain(CutLine(cols))}
	case hal.KindQR:
		return plainWrapped("[QR] "+Clean(e.Text, true), cols)
	case hal.KindImage:
		w, h := 0, 0
		if e.Image != nil {
			w, h = e.Image.Width, e.Image.Height
		}
		return plainWrapped(fmt.Sprintf("[image %dx%d]", w, h), cols)
	}
	return plainWrapped(fmt.Sprintf("[unknown element kind %d]", e.Kind), cols)
}

func plain(s string) Line {
	return Line{Segs: []Seg{{Text: s}}, Scale: 1}
}

func plainWrapped(s string, cols int) []Line {
	var out []Line
	for _, c := range Wrap(s, cols) {
		out = append(out, plain(c))
	}
	return out
}

// CutLine is the tear-off mark, exactly cols wide:
// "- - - - - - - cut  - - - - - - -" at 32 columns.
func CutLine(cols int) string {
	n := cols - len("cut")
	k := n / 4 // "- " pairs on each side
	r := n - 4*k
	return strings.Repeat("- ", k) + strings.Repeat(" ", r/2) + "cut" +
		strings.Repeat(" ", r-r/2) + strings.Repeat(" -", k)
}

func layoutText(e hal.Element, cols int) []Line {
	scale := 1
	if e.Style.Size == hal.SizeDouble {
		scale = 2
	}
	width := cols / scale // in characters of this size
	var out []Line
	emit := func(segs ...Seg) {
		out = append(out, Line{Segs: segs, Scale: scale, Bold: e.Style.Bold})
	}
	place := func(s string, a hal.Align) Seg {
		w := hal.StringWidth(s)
		switch a {
		case hal.AlignCenter:
			return Seg{Text: s, Col: (cols - scale*w) / 2, TCol: (cols - w) / 2}
		case hal.AlignRight:
			return Seg{Text: s, Col: cols - scale*w, TCol: cols - w}
		}
		return Seg{Text: s}
	}

	var chunks []string
	for _, para := range strings.Split(Clean(e.Text, false), "\n") {
		chunks = append(chunks, Wrap(para, width)...)
	}
	value := strings.TrimSpace(Clean(e.Right, true))
	if value == "" {
		for _, c := range chunks {
			emit(place(c, e.Style.Align))
		}
		return out
	}

	last := chunks[len(chunks)-1]
	for _, c := range chunks[:len(chunks)-1] {
		emit(place(c, hal.AlignLeft))
	}
	lw, vw := hal.StringWidth(last), hal.StringWidth(value)
	gap := 1
	if lw == 0 {
		gap = 0
	}
	if lw+gap+vw <= width {
		emit(place(last, hal.AlignLeft), place(value, hal.AlignRight))
		return out
	}
	if lw > 0 {
		emit(place(last, hal.AlignLeft))
	}
	for _, c := range Wrap(value, width) {
		emit(place(c, hal.AlignRight))
	}
	return out
}

// Clean makes text printable: tabs become spaces, newlines stay (or
// become spaces when oneLine) and other control characters go, since they
// have no width and would garble the text files; invalid UTF-8 becomes
// U+FFFD so that the files are always UTF-8.
func Clean(s string, oneLine bool) string {
	clean := utf8.ValidString(s)
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t', r == '\n' && oneLine:
			b.WriteByte(' ')
		case r == '\n':
			b.WriteByte('\n')
		case r < 0x20 || (r >= 0x7f && r < 0xa0):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Wrap cuts s into lines of at most width cells. English breaks
// between words (a word longer than the line breaks where it must);
// Chinese, which has no spaces, breaks between any two wide runes; a wide
// rune is never split. The spaces at a break are dropped, and so are
// trailing spaces. It returns at least one line.
func Wrap(s string, width int) []string {
	var out []string
	rs := []rune(s)
	for len(rs) > 0 {
		w, cut, lastSpace := 0, 0, -1
		for cut < len(rs) {
			cw := hal.CellWidth(rs[cut])
			if w > 0 && w+cw > width {
				break
			}
			if rs[cut] == ' ' {
				lastSpace = cut
			}
			w += cw
			cut++
		}
		// Inside an English word that fits on a line of its own: go back
		// to the space before it. A longer one (a URL) breaks where it must.
		if cut < len(rs) && rs[cut] != ' ' && lastSpace > 0 && narrow(rs[cut]) && narrow(rs[cut-1]) &&
			wordWidth(rs[lastSpace+1:]) <= width {
			cut = lastSpace
		}
		out = append(out, strings.TrimRight(string(rs[:cut]), " "))
		rs = rs[cut:]
		for len(rs) > 0 && rs[0] == ' ' {
			rs = rs[1:]
		}
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out
}

func narrow(r rune) bool { return r != ' ' && hal.CellWidth(r) == 1 }

// wordWidth is the width of the word rs starts with.
func wordWidth(rs []rune) int {
	w := 0
	for _, r := range rs {
		if !narrow(r) {
			break
		}
		w++
	}
	return w
}
