package fake

import (
	"strings"
	"sync"

	"github.com/shoukuan/pos/hal"
)

// Display is an in-memory display: what tests and the headless runner
// read instead of a screen.
type Display struct {
	mu         sync.Mutex
	cols, rows int
	back       []cell
	front      []cell
	flushes    int
	picture    *hal.Bitmap
}

// ShowPicture keeps the picture for Picture.
func (d *Display) ShowPicture(b *hal.Bitmap) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.picture = b
}

// Picture is the picture on the display, nil when none.
func (d *Display) Picture() *hal.Bitmap {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.picture
}

type cell struct {
	r    rune // 0: continuation of a wide rune to the left, or blank
	attr hal.Attr
}

func NewDisplay(cols, rows int) *Display {
	return &Display{cols: cols, rows: rows, back: make([]cell, cols*rows), front: make([]cell, cols*rows)}
}

func (d *Display) Size() (int, int) { return d.cols, d.rows }

func (d *Display) Clear() {
	d.mu.Lock()
	defer d.mu.Unlock()
	clear(d.back)
}

func (d *Display) SetCell(x, y int, r rune, a hal.Attr) {
	w := hal.CellWidth(r)
	if x < 0 || y < 0 || y >= d.rows || w == 0 || x+w > d.cols {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	i := y*d.cols + x
	old := d.back[i]
	// Overwriting half of a wide rune blanks its other half.
	if old.r == 0 && x > 0 && hal.CellWidth(d.back[i-1].r) == 2 {
		d.back[i-1] = cell{r: ' '}
	}
	if hal.CellWidth(old.r) == 2 && w == 1 {
		d.back[i+1] = cell{r: ' '}
	}
	d.back[i] = cell{r: r, attr: a}
	if w == 2 {
		if hal.CellWidth(d.back[i+1].r) == 2 && x+2 < d.cols {
			d.back[i+2] = cell{r: ' '}
		}
		d.back[i+1] = cell{attr: a}
	}
}

func (d *Display) Flush() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	copy(d.front, d.back)
	d.flushes++
	return nil
}

// Lines returns the flushed screen, one string per row, trailing blanks
// trimmed.
func (d *Display) Lines() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, d.rows)
	var b strings.Builder
	for y := 0; y < d.rows; y++ {
		b.Reset()
		for x := 0; x < d.cols; x++ {
			c := d.front[y*d.cols+x]
			switch {
			case c.r == 0 && x > 0 && hal.CellWidth(d.front[y*d.cols+x-1].r) == 2:
				// right half of a wide rune
			case c.r == 0:
				b.WriteByte(' ')
			default:
				b.WriteRune(c.r)
			}
		}
		out[y] = strings.TrimRight(b.String(), " ")
	}
	return out
}

// Text is the flushed screen as one string, rows joined by newlines.
func (d *Display) Text() string { return strings.Join(d.Lines(), "\n") }

// AttrAt returns the attribute of a flushed cell.
func (d *Display) AttrAt(x, y int) hal.Attr {
	d.mu.Lock()
	defer d.mu.Unlock()
	if x < 0 || y < 0 || x >= d.cols || y >= d.rows {
		return 0
	}
	return d.front[y*d.cols+x].attr
}

// Flushes counts Flush calls: a way to see that a screen was redrawn.
func (d *Display) Flushes() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.flushes
}
