// Package ui draws text screens on a hal.Display: the layout primitives
// every screen of the terminal uses. Widths follow hal.CellWidth, so a
// Chinese character takes two cells everywhere.
package ui

import (
	"strings"

	"github.com/shoukuan/pos/hal"
)

// Canvas is a hal.Display with text layout.
type Canvas struct {
	d          hal.Display
	cols, rows int
	// Tag is drawn at the right end of every title bar, where no title can
	// cover it: "演示 DEMO" on a terminal that takes no real payments.
	Tag string
}

func NewCanvas(d hal.Display) *Canvas {
	c, r := d.Size()
	return &Canvas{d: d, cols: c, rows: r}
}

func (c *Canvas) Cols() int { return c.cols }
func (c *Canvas) Rows() int { return c.rows }

func (c *Canvas) Clear() { c.d.Clear() }

func (c *Canvas) Flush() error { return c.d.Flush() }

// Text writes s at (x, y), cut at the right edge without splitting a wide
// rune. It returns the column after the last cell written.
func (c *Canvas) Text(x, y int, s string, a hal.Attr) int {
	for _, r := range s {
		w := hal.CellWidth(r)
		if w == 0 {
			continue
		}
		if x+w > c.cols {
			break
		}
		c.d.SetCell(x, y, r, a)
		x += w
	}
	return x
}

// Fill paints a whole row with attribute a (for reverse-video bars).
func (c *Canvas) Fill(y int, a hal.Attr) {
	for x := 0; x < c.cols; x++ {
		c.d.SetCell(x, y, ' ', a)
	}
}

// Center writes s centred on row y.
func (c *Canvas) Center(y int, s string, a hal.Attr) {
	s = Truncate(s, c.cols)
	c.Text((c.cols-hal.StringWidth(s))/2, y, s, a)
}

// Right writes s flush right on row y.
func (c *Canvas) Right(y int, s string, a hal.Attr) {
	s = Truncate(s, c.cols)
	c.Text(c.cols-hal.StringWidth(s), y, s, a)
}

// Pair writes a label on the left and a value flush right on row y.
func (c *Canvas) Pair(y int, label, value string, a hal.Attr) {
	c.Right(y, value, a)
	room := c.cols - hal.StringWidth(value) - 1
	if room > 0 {
		c.Text(0, y, Truncate(label, room), a)
	}
}

// Title draws the reverse-video title bar on row 0, with the tag.
func (c *Canvas) Title(s string) {
	c.Fill(0, hal.AttrReverse)
	if c.Tag == "" {
		c.Center(0, s, hal.AttrReverse|hal.AttrBold)
		return
	}
	tag := Truncate(c.Tag, c.cols/2)
	room := c.cols - hal.StringWidth(tag) - 1
	s = Truncate(s, room)
	c.Text((room-hal.StringWidth(s))/2, 0, s, hal.AttrReverse|hal.AttrBold)
	c.Text(c.cols-hal.StringWidth(tag), 0, tag, hal.AttrReverse|hal.AttrError|hal.AttrBold)
}

// Footer writes a dim hint on the last row.
func (c *Canvas) Footer(s string) {
	c.Center(c.rows-1, s, hal.AttrDim)
}

// Paragraph wraps s into rows from y on and returns the next free row.
// It stops at maxY (exclusive).
func (c *Canvas) Paragraph(y, maxY int, s string, a hal.Attr) int {
	for _, line := range Wrap(s, c.cols) {
		if y >= maxY {
			break
		}
		c.Text(0, y, line, a)
		y++
	}
	return y
}

// Truncate cuts s to at most width cells.
func Truncate(s string, width int) string {
	if hal.StringWidth(s) <= width {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		w := hal.CellWidth(r)
		if n+w > width {
			break
		}
		b.WriteRune(r)
		n += w
	}
	return b.String()
}

// Wrap breaks s into lines of at most width cells, at spaces where it can
// (English) and between any two wide runes (Chinese has no spaces).
func Wrap(s string, width int) []string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		out = append(out, wrapLine(para, width)...)
	}
	return out
}

func wrapLine(s string, width int) []string {
	if width < 2 {
		width = 2
	}
	var lines []string
	rs := []rune(s)
	for len(rs) > 0 {
		n, cut, lastSpace := 0, 0, -1
		for cut < len(rs) {
			w := hal.CellWidth(rs[cut])
			if n+w > width {
				break
			}
			if rs[cut] == ' ' {
				lastSpace = cut
			}
			n += w
			cut++
		}
		if cut < len(rs) && lastSpace > 0 && rs[cut] != ' ' && hal.CellWidth(rs[cut]) == 1 && hal.CellWidth(rs[cut-1]) == 1 {
			cut = lastSpace
		}
		if cut == 0 { // a rune wider than the line: emit it alone rather than loop
			cut = 1
		}
		lines = append(lines, strings.TrimRight(string(rs[:cut]), " "))
		rs = rs[cut:]
		for len(rs) > 0 && rs[0] == ' ' {
			rs = rs[1:]
		}
	}
	if len(lines) == 0 {
		lines = []string{""}
	}
	return lines
}
