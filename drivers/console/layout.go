package console

import (
	"fmt"
	"strings"

	"github.com/shoukuan/pos/hal"
)

// contRune marks the right half of a wide rune drawn in the cell to its
// left. Backends draw nothing of their own there.
const contRune rune = 0

// canvas is what the layout draws on: the terminal, or a grid in tests.
// Writes outside the canvas are ignored.
type canvas interface {
	set(x, y int, r rune, a hal.Attr)
	size() (w, h int)
}

// Layout limits. The simulator must be usable in a classic 80x24 terminal.
const (
	minTermW   = 80
	minTermH   = 24
	minPanelW  = 24  // narrowest panel box worth drawing
	twoColumnW = 140 // from this width panels go in two columns
	boxMinH    = 3   // a box with one line inside
)

// cell is one POS display cell; r == contRune is the right half of the wide
// rune to its left.
type cell struct {
	r rune
	a hal.Attr
}

// view is everything one redraw needs.
type view struct {
	cols, rows int
	cells      []cell // rows*cols, row-major
	title      string
	panels     []Panel
	help       []string
	picture    *hal.Bitmap
}

type rect struct{ x, y, w, h int }

// layout is where things go on a terminal of a given size.
type layout struct {
	frame  rect
	help   rect
	panels []rect // one per panel (w 0: not shown), or none when the terminal is too small
	note   string // shown instead of the panels when the terminal is too small
	noteY  int
	// picture is the box of the shown picture; w 0 when there is none or
	// it does not fit a box (then it is drawn over the panels).
	picture rect
}

// PictureCompanion is a panel that stays on screen while a picture (the
// merchant's QR) is shown, when there is room for only some panels: the
// customer's phone that pays it.
type PictureCompanion interface {
	WithPicture() bool
}

// pictureCells is the picture's size in cells with its quiet zone: one
// module per column, two per row.
func pictureCells(b *hal.Bitmap) (int, int) {
	const quiet = 2
	w, h := b.Width+2*quiet, b.Height+2*quiet
	return w, (h + 1) / 2
}

// PictureTitle heads the box of the picture.
const PictureTitle = "QR on the terminal"

// minSize is the terminal size that shows the panels.
func minSize(v *view) (int, int) {
	fw, fh := v.cols+2, v.rows+2
	if len(v.panels) == 0 {
		return fw, fh
	}
	return max(minTermW, fw+1+minPanelW), max(minTermH, fh, boxMinH*len(v.panels))
}

func computeLayout(w, h int, v *view) layout {
	fw, fh := v.cols+2, v.rows+2
	l := layout{frame: rect{0, 0, fw, fh}}
	mw, mh := minSize(v)
	if w < mw || h < mh {
		// Keep the POS usable and say why the devices are missing.
		l.note = fmt.Sprintf("enlarge to %dx%d for device panels", mw, mh)
		l.noteY = max(0, min(fh, h-1))
		l.help = rect{0, l.noteY + 1, w, h - l.noteY - 1}
		return l
	}
	if len(v.panels) == 0 {
		l.help = rect{0, fh, w, h - fh}
		return l
	}
	l.help = rect{0, fh, fw, h - fh}
	x0 := fw + 1
	aw := w - x0
	n := len(v.panels)
	if v.picture != nil {
		if pl, ok := pictureLayout(x0, aw, h, v); ok {
			l.picture, l.panels = pl.picture, pl.panels
			return l
		}
	}
	c1 := (aw - 1) / 2
	if w >= twoColumnW && n >= 2 && c1 >= minPanelW {
		// The paper roll gets a whole column; the other devices share the second.
		l.panels = append(l.panels, rect{x0, 0, c1, h})
		x2 := x0 + c1 + 1
		l.panels = append(l.panels, column(x2, w-x2, h, v.panels[1:], false)...)
		return l
	}
	l.panels = column(x0, aw, h, v.panels, true)
	return l
}

// pictureLayout puts the picture in a box at the top of the panel column
// and below it the panels that fit: the picture's companions first, then
// the others in order while each still gets a box with a line. It fails
// when the picture's box does not fit with at least one companion line.
func pictureLayout(x0, aw, h int, v *view) (layout, bool) {
	var l layout
	pw, ph := pictureCells(v.picture)
	box := rect{x0, 0, aw, ph + 2}
	if pw+2 > aw || box.h+boxMinH > h {
		return l, false
	}
	l.picture = box
	l.panels = make([]rect, len(v.panels))
	var order []int
	for i, p := range v.panels {
		if c, ok := p.(PictureCompanion); ok && c.WithPicture() {
			order = append(order, i)
		}
	}
	for i, p := range v.panels {
		if c, ok := p.(PictureCompanion); !ok || !c.WithPicture() {
			order = append(order, i)
		}
	}
	left := h - box.h
	var shown []Panel
	var idx []int
	for _, i := range order {
		if boxMinH*(len(shown)+1) > left {
			break
		}
		shown = append(shown, v.panels[i])
		idx = append(idx, i)
	}
	if len(shown) == 0 {
		return l, false
	}
	rs := column(x0, aw, left, shown, false)
	for k, i := range idx {
		rs[k].y += box.h
		l.panels[i] = rs[k]
	}
	return l, true
}

// column stacks panels in a column of height h. Each panel gets the lines it
// wants up to a cap; with fillFirst the first panel (the paper roll) takes
// all the rest, otherwise spare rows go to panels wanting more and then to
// the last one so that the column is filled.
func column(x, w, h int, panels []Panel, fillFirst bool) []rect {
	n := len(panels)
	content := h - 2*n // rows inside the boxes
	inner := make([]int, n)
	if fillFirst {
		// Dividing by n+1 leaves the first panel at least twice the cap.
		capRows := max(1, content/(n+1))
		used := 0
		for i := 1; i < n; i++ {
			inner[i] = clamp(len(panels[i].Lines(w-2, capRows)), 1, capRows)
			used += inner[i]
		}
		inner[0] = content - used
	} else {
		capRows := max(1, content/n)
		wants := make([]int, n)
		left := content
		for i, p := range panels {
			wants[i] = clamp(len(p.Lines(w-2, content)), 1, content)
			inner[i] = min(wants[i], capRows)
			left -= inner[i]
		}
		for i := range inner {
			extra := min(left, wants[i]-inner[i])
			inner[i] += extra
			left -= extra
		}
		inner[n-1] += left
	}
	rs := make([]rect, n)
	y := 0
	for i := range rs {
		rs[i] = rect{x, y, w, inner[i] + 2}
		y += inner[i] + 2
	}
	return rs
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

// render draws the whole console: POS frame and cells, help, panels.
func render(cv canvas, v *view) {
	w, h := cv.size()
	l := computeLayout(w, h, v)

	drawBox(cv, l.frame, v.title)
	for y := 0; y < v.rows; y++ {
		for x := 0; x < v.cols; x++ {
			c := v.cells[y*v.cols+x]
			cv.set(l.frame.x+1+x, l.frame.y+1+y, c.r, c.a)
		}
	}
	if l.note != "" {
		fill(cv, 0, l.noteY, w, hal.AttrNone)
		putText(cv, 0, l.noteY, w, l.note, hal.AttrReverse)
	}
	for i, s := range v.help {
		if i >= l.help.h {
			break
		}
		putText(cv, l.help.x, l.help.y+i, l.help.w, s, hal.AttrNone)
	}
	for i, r := range l.panels {
		if r.w > 0 {
			drawPanel(cv, r, v.panels[i])
		}
	}
	switch {
	case v.picture != nil && l.picture.w > 0:
		drawBox(cv, l.picture, PictureTitle)
		pw, _ := pictureCells(v.picture)
		drawPicture(cv, l.picture.x+1+(l.picture.w-2-pw)/2, l.picture.y+1, v.picture)
	case v.picture != nil:
		// No room for a box: over the panels, as large as it comes.
		drawPicture(cv, l.frame.x+l.frame.w+1, 0, v.picture)
	}
}

// drawPicture draws a 1-bit picture over the panels, two rows of modules
// per character: light modules are block characters, so on the usual
// light-on-dark terminal the code reads dark-on-light as printed. A
// two-module quiet zone of light surrounds it.
func drawPicture(cv canvas, x0, y0 int, b *hal.Bitmap) {
	const quiet = 2 // as pictureCells
	w, h := b.Width+2*quiet, b.Height+2*quiet
	light := func(x, y int) bool {
		x, y = x-quiet, y-quiet
		if x < 0 || y < 0 || x >= b.Width || y >= b.Height {
			return true
		}
		return b.Pix[y*b.Width+x] == 0
	}
	for cy := 0; cy < (h+1)/2; cy++ {
		for x := 0; x < w; x++ {
			top, bottom := light(x, 2*cy), 2*cy+1 >= h || light(x, 2*cy+1)
			r := ' '
			switch {
			case top && bottom:
				r = '█'
			case top:
				r = '▀'
			case bottom:
				r = '▄'
			}
			cv.set(x0+x, y0+cy, r, hal.AttrNone)
		}
	}
}

func drawPanel(cv canvas, r rect, p Panel) {
	drawBox(cv, r, p.Title())
	iw, ih := r.w-2, r.h-2
	lines := p.Lines(iw, ih)
	for i := 0; i < ih && i < len(lines); i++ {
		// Pad with the line's attribute so a reversed (selected) line
		// shows as a full-width bar.
		fill(cv, r.x+1, r.y+1+i, iw, lines[i].Attr)
		putText(cv, r.x+1, r.y+1+i, iw, lines[i].Text, lines[i].Attr)
	}
}

// drawBox draws a single-line box with the title in its top border.
func drawBox(cv canvas, r rect, title string) {
	if r.w < 2 || r.h < 2 {
		return
	}
	x1, y1 := r.x+r.w-1, r.y+r.h-1
	for x := r.x + 1; x < x1; x++ {
		cv.set(x, r.y, '─', hal.AttrNone)
		cv.set(x, y1, '─', hal.AttrNone)
	}
	for y := r.y + 1; y < y1; y++ {
		cv.set(r.x, y, '│', hal.AttrNone)
		cv.set(x1, y, '│', hal.AttrNone)
	}
	cv.set(r.x, r.y, '┌', hal.AttrNone)
	cv.set(x1, r.y, '┐', hal.AttrNone)
	cv.set(r.x, y1, '└', hal.AttrNone)
	cv.set(x1, y1, '┘', hal.AttrNone)
	if title != "" {
		// "┌─ title ───┐": keep one rule cell on each side of the title.
		putText(cv, r.x+2, r.y, r.w-3, " "+title+" ", hal.AttrBold)
	}
}

// putText writes s from (x, y) within w cells and returns the cells used.
// A wide rune that would cross the edge is left out rather than split, and
// zero-width runes are dropped because a cell holds one rune.
func putText(cv canvas, x, y, w int, s string, a hal.Attr) int {
	n := 0
	for _, r := range s {
		cw := hal.CellWidth(r)
		if cw == 0 {
			continue
		}
		if n+cw > w {
			break
		}
		cv.set(x+n, y, r, a)
		if cw == 2 {
			cv.set(x+n+1, y, contRune, a)
		}
		n += cw
	}
	return n
}

func fill(cv canvas, x, y, w int, a hal.Attr) {
	for i := 0; i < w; i++ {
		cv.set(x+i, y, ' ', a)
	}
}

// Wrap breaks s into lines of at most width cells between words (a word
// longer than a line is cut where it must); panels use it so that a
// device's message is never cut off mid-word.
func Wrap(s string, width int) []string {
	width = max(width, 1)
	var out []string
	line, lw := "", 0
	flush := func() {
		out = append(out, line)
		line, lw = "", 0
	}
	for _, word := range strings.Fields(s) {
		ww := hal.StringWidth(word)
		for ww > width { // a word wider than the line: cut it
			if lw > 0 {
				flush()
			}
			cut, n := 0, 0
			for i, r := range word {
				if n+hal.CellWidth(r) > width {
					cut = i
					break
				}
				n += hal.CellWidth(r)
			}
			line, lw = word[:cut], n
			flush()
			word = word[cut:]
			ww = hal.StringWidth(word)
		}
		if lw > 0 && lw+1+ww > width {
			flush()
		}
		if lw > 0 {
			line += " "
			lw++
		}
		line += word
		lw += ww
	}
	if lw > 0 || len(out) == 0 {
		flush()
	}
	return out
}
