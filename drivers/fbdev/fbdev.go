// Package fbdev is the POS screen on a Linux framebuffer (/dev/fbN): the
// SPI panels of small boards (fbtft, ili9341 at 320x240, RGB565) and HDMI
// or DRM-emulated framebuffers (32 bpp). It draws the text grid with the
// terminal's Unifont into a back buffer and writes only the pixel rows
// that changed, because an SPI panel repainted whole on every key press
// lags visibly.
package fbdev

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/shoukuan/pos/drivers/glyph"
	"github.com/shoukuan/pos/hal"
)

// Bitfield is where one colour channel sits in a pixel value, as in the
// kernel's struct fb_bitfield: Length bits starting at bit Offset.
type Bitfield struct {
	Offset, Length int
}

// Format is a pixel layout: 16 or 32 bits per pixel stored in host byte
// order (as the kernel's framebuffers are), channels where the bitfields
// say. Transp, when it has a length, is set to opaque.
type Format struct {
	BitsPerPixel     int
	Red, Green, Blue Bitfield
	Transp           Bitfield
}

// The common layouts. BGR panels differ only in the bitfields, which Open
// reads from the device.
var (
	RGB565   = Format{BitsPerPixel: 16, Red: Bitfield{11, 5}, Green: Bitfield{5, 6}, Blue: Bitfield{0, 5}}
	BGR565   = Format{BitsPerPixel: 16, Red: Bitfield{0, 5}, Green: Bitfield{5, 6}, Blue: Bitfield{11, 5}}
	XRGB8888 = Format{BitsPerPixel: 32, Red: Bitfield{16, 8}, Green: Bitfield{8, 8}, Blue: Bitfield{0, 8}}
	XBGR8888 = Format{BitsPerPixel: 32, Red: Bitfield{0, 8}, Green: Bitfield{8, 8}, Blue: Bitfield{16, 8}}
)

func (f Format) String() string {
	for _, k := range []struct {
		f    Format
		name string
	}{{RGB565, "RGB565"}, {BGR565, "BGR565"}, {XRGB8888, "XRGB8888"}, {XBGR8888, "XBGR8888"}} {
		if f.BitsPerPixel == k.f.BitsPerPixel && f.Red == k.f.Red && f.Green == k.f.Green && f.Blue == k.f.Blue {
			return k.name
		}
	}
	return fmt.Sprintf("%dbpp r%d:%d g%d:%d b%d:%d", f.BitsPerPixel,
		f.Red.Offset, f.Red.Length, f.Green.Offset, f.Green.Length, f.Blue.Offset, f.Blue.Length)
}

func (f Format) check() error {
	if f.BitsPerPixel != 16 && f.BitsPerPixel != 32 {
		return fmt.Errorf("fbdev: %d bits per pixel not supported; want 16 (RGB565) or 32 (XRGB8888)", f.BitsPerPixel)
	}
	var used uint64
	for _, c := range []struct {
		name string
		bf   Bitfield
		min  int
	}{{"red", f.Red, 1}, {"green", f.Green, 1}, {"blue", f.Blue, 1}, {"transp", f.Transp, 0}} {
		bf := c.bf
		if bf.Length < c.min || bf.Length > 8 || bf.Offset < 0 || bf.Offset+bf.Length > f.BitsPerPixel {
			return fmt.Errorf("fbdev: %s bitfield offset %d length %d does not fit a %d-bit pixel", c.name, bf.Offset, bf.Length, f.BitsPerPixel)
		}
		m := (uint64(1)<<bf.Length - 1) << bf.Offset
		if used&m != 0 {
			return fmt.Errorf("fbdev: %s bitfield overlaps another channel in %v", c.name, f)
		}
		used |= m
	}
	return nil
}

// Geometry is the visible screen inside a framebuffer.
type Geometry struct {
	Width, Height int // visible pixels
	Stride        int // bytes from one line to the next; 0: Width pixels
	Format        Format
	Offset        int64 // byte offset of the top-left visible pixel (panning)
}

func (g Geometry) bytesPerPixel() int { return g.Format.BitsPerPixel / 8 }

// Size is how many bytes of the target the visible screen spans.
func (g Geometry) Size() int64 { return g.Offset + int64(g.Height)*int64(g.Stride) }

func (g *Geometry) check() error {
	if err := g.Format.check(); err != nil {
		return err
	}
	if g.Width <= 0 || g.Height <= 0 || g.Width > 1<<14 || g.Height > 1<<14 {
		return fmt.Errorf("fbdev: screen %dx%d pixels; want 1 to 16384 each way", g.Width, g.Height)
	}
	line := g.Width * g.bytesPerPixel()
	if g.Stride == 0 {
		g.Stride = line
	}
	if g.Stride < line {
		return fmt.Errorf("fbdev: stride %d bytes is less than one %d-pixel line of %d bytes", g.Stride, g.Width, line)
	}
	if g.Offset < 0 {
		return fmt.Errorf("fbdev: negative offset %d", g.Offset)
	}
	return nil
}

// Options configure the display.
type Options struct {
	// Cols, Rows: the text grid. 0: as many 8x16 cells as fit the panel.
	Cols, Rows int
	// Dark: light text on black. The default is dark text on white, as on
	// a POS LCD, which reads best in a shop's light.
	Dark bool
	// Font draws the text; nil loads glyph.Default (Unifont), falling
	// back to the built-in ASCII font when it cannot be loaded.
	Font *glyph.Font
	// PatternHold is how long SelfTest shows the test pattern; 0: 2 s.
	PatternHold time.Duration
}

// Memory is a framebuffer in memory: a mapped device, or a test's buffer.
type Memory []byte

// WriteAt copies p into the buffer at off.
func (m Memory) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(m)) || int64(len(p)) > int64(len(m))-off {
		return 0, fmt.Errorf("fbdev: write of %d bytes at %d outside a %d-byte framebuffer", len(p), off, len(m))
	}
	return copy(m[off:], p), nil
}

// ReadAt copies the buffer at off into p.
func (m Memory) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= int64(len(m)) {
		return 0, io.EOF
	}
	n := copy(p, m[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Cell size in pixels at scale 1: a narrow Unifont glyph.
const (
	cellPx = 8
	cellPy = glyph.Height
)

// contRune marks the right half of a wide rune.
const contRune rune = -1

type cell struct {
	r rune
	a hal.Attr
}

var blankCell = cell{r: ' '}

// Display is a framebuffer screen. It is a hal.Display, hal.PictureDisplay
// and hal.SelfTester, safe for concurrent use.
type Display struct {
	mu     sync.Mutex
	dst    io.WriterAt
	closer func() error // releases what Open acquired
	name   string
	g      Geometry
	bpp    int // bytes per pixel

	cols, rows  int
	scale       int
	cw, ch      int // cell size in pixels, scale included
	gx, gy      int // top-left pixel of the grid
	font        *glyph.Font
	fontErr     error
	pal         palette
	hold        time.Duration
	back, front []cell
	shadow      []byte // the screen as last drawn, laid out like the target
	dirty       []bool // per pixel row: shadow differs from the target
	changed     []bool // scratch for Flush
	pic         *hal.Bitmap
	closed      bool
}

var _ interface {
	hal.Display
	hal.PictureDisplay
	hal.SelfTester
	io.Closer
} = (*Display)(nil)

// ErrClosed is returned after Close.
var ErrClosed = errors.New("fbdev: display closed")

// New makes a display on any framebuffer target: a Memory (bounds are
// checked against g), a file, or a recording writer in tests. Nothing is
// written until the first Flush, which paints the whole screen.
func New(dst io.WriterAt, g Geometry, o Options) (*Display, error) {
	if dst == nil {
		return nil, errors.New("fbdev: nil framebuffer")
	}
	if err := g.check(); err != nil {
		return nil, err
	}
	if m, ok := dst.(Memory); ok && int64(len(m)) < g.Size() {
		return nil, fmt.Errorf("fbdev: framebuffer of %d bytes; %dx%d at stride %d from offset %d needs %d",
			len(m), g.Width, g.Height, g.Stride, g.Offset, g.Size())
	}
	cols, rows := o.Cols, o.Rows
	if cols <= 0 {
		cols = g.Width / cellPx
	}
	if rows <= 0 {
		rows = g.Height / cellPy
	}
	if cols < 1 || rows < 1 || cols*cellPx > g.Width || rows*cellPy > g.Height {
		return nil, fmt.Errorf("fbdev: a %dx%d-cell grid needs %dx%d pixels; the screen is %dx%d",
			cols, rows, cols*cellPx, rows*cellPy, g.Width, g.Height)
	}
	// The largest whole scale keeps glyphs crisp; the grid is centred in
	// what is left over.
	s := min(g.Width/(cols*cellPx), g.Height/(rows*cellPy))
	d := &Display{
		dst: dst, name: "memory", g: g, bpp: g.bytesPerPixel(),
		cols: cols, rows: rows, scale: s, cw: cellPx * s, ch: cellPy * s,
		font: o.Font, hold: o.PatternHold,
		back:    make([]cell, cols*rows),
		front:   make([]cell, cols*rows),
		shadow:  make([]byte, g.Height*g.Stride),
		dirty:   make([]bool, g.Height),
		changed: make([]bool, cols),
	}
	d.gx = (g.Width - cols*d.cw) / 2
	d.gy = (g.Height - rows*d.ch) / 2
	if d.font == nil {
		d.font, d.fontErr = glyph.Default()
	}
	if d.hold <= 0 {
		d.hold = 2 * time.Second
	}
	d.pal = newPalette(g.Format, o.Dark)
	for i := range d.back {
		d.back[i], d.front[i] = blankCell, blankCell
	}
	d.redrawAll()
	return d, nil
}

// Size returns the grid in cells.
func (d *Display) Size() (int, int) { return d.cols, d.rows }

// Scale is the pixels per font pixel, the same both ways.
func (d *Display) Scale() int { return d.scale }

// Geometry is the screen the display draws on.
func (d *Display) Geometry() Geometry { return d.g }

// Clear blanks the back buffer.
func (d *Display) Clear() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range d.back {
		d.back[i] = blankCell
	}
}

// SetCell writes r to the back buffer. A wide rune takes x and x+1; one
// that does not fit in the last column is shown as a blank, as on the
// console. Writes outside the grid and zero-width runes are ignored.
func (d *Display) SetCell(x, y int, r rune, a hal.Attr) {
	w := hal.CellWidth(r)
	if x < 0 || y < 0 || x >= d.cols || y >= d.rows || w == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	row := d.back[y*d.cols : (y+1)*d.cols]
	if w == 2 && x == d.cols-1 {
		r, w = ' ', 1
	}
	// Half a wide rune must not survive: its other half is blanked.
	if row[x].r == contRune && x > 0 {
		row[x-1] = cell{r: ' ', a: row[x-1].a}
	}
	if end := x + w; end < d.cols && row[end].r == contRune {
		row[end] = cell{r: ' ', a: row[end].a}
	}
	row[x] = cell{r: r, a: a}
	if w == 2 {
		row[x+1] = cell{r: contRune, a: a}
	}
}

// Flush draws the cells that changed since the last Flush and writes the
// pixel rows they touch. Cells under a picture are remembered but stay
// hidden until ShowPicture(nil). A failed write is retried by the next
// Flush.
func (d *Display) Flush() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	for y := 0; y < d.rows; y++ {
		base := y * d.cols
		touched := false
		for x := 0; x < d.cols; x++ {
			c := d.back[base+x] != d.front[base+x]
			d.changed[x] = c
			touched = touched || c
		}
		if !touched {
			continue
		}
		copy(d.front[base:base+d.cols], d.back[base:base+d.cols])
		if d.covered(y) {
			continue
		}
		for x := 0; x < d.cols; x++ {
			if !d.changed[x] {
				continue
			}
			if d.drawCell(x, y) == 2 {
				x++ // the wide rune's box covered its right half
			}
		}
	}
	return d.writeDirty()
}

// ShowPicture puts b (one pixel per QR module, no quiet zone) over the
// middle of the screen at once, keeping the title and footer rows; nil
// brings the text back. A malformed bitmap counts as nil. The bitmap is
// copied, so the caller may reuse it.
func (d *Display) ShowPicture(b *hal.Bitmap) {
	if b != nil && (b.Width <= 0 || b.Height <= 0 || len(b.Pix) != b.Width*b.Height) {
		b = nil
	}
	if b != nil {
		b = &hal.Bitmap{Width: b.Width, Height: b.Height, Pix: append([]byte(nil), b.Pix...)}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || (b == nil && d.pic == nil) {
		return
	}
	d.pic = b
	if b != nil {
		d.drawPicture()
	} else {
		d.redrawCovered()
	}
	// ShowPicture has no error result; rows that fail stay dirty and
	// the next Flush writes them again and reports the failure.
	_ = d.writeDirty()
}

// Close releases the framebuffer. Later Flushes fail with ErrClosed.
func (d *Display) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	if d.closer != nil {
		return d.closer()
	}
	return nil
}

// writeDirty writes each run of dirty pixel rows with one write: on a
// mapped SPI panel the kernel's deferred I/O then sends just those lines.
func (d *Display) writeDirty() error {
	st := d.g.Stride
	for y := 0; y < d.g.Height; {
		if !d.dirty[y] {
			y++
			continue
		}
		end := y + 1
		for end < d.g.Height && d.dirty[end] {
			end++
		}
		if _, err := d.dst.WriteAt(d.shadow[y*st:end*st], d.g.Offset+int64(y*st)); err != nil {
			return fmt.Errorf("fbdev: %s: writing rows %d-%d: %w", d.name, y, end-1, err)
		}
		for i := y; i < end; i++ {
			d.dirty[i] = false
		}
		y = end
	}
	return nil
}
