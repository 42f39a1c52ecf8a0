package fbdev

import (
	"encoding/binary"
	"image"

	"github.com/shoukuan/pos/drivers/glyph"
	"github.com/shoukuan/pos/hal"
)

// rgb is a colour before it is packed into the panel's pixel format.
type rgb struct{ r, g, b uint8 }

var (
	white = rgb{0xff, 0xff, 0xff}
	black = rgb{0, 0, 0}
)

// pack turns c into the bytes of one pixel. Low bits are dropped, which
// is what the panel would do with them anyway.
func (f Format) pack(c rgb) []byte {
	var v uint32
	put := func(bf Bitfield, c8 uint8) { v |= uint32(c8) >> (8 - bf.Length) << bf.Offset }
	put(f.Red, c.r)
	put(f.Green, c.g)
	put(f.Blue, c.b)
	if f.Transp.Length > 0 {
		v |= (1<<f.Transp.Length - 1) << f.Transp.Offset
	}
	b := make([]byte, f.BitsPerPixel/8)
	if len(b) == 2 {
		binary.NativeEndian.PutUint16(b, uint16(v))
	} else {
		binary.NativeEndian.PutUint32(b, v)
	}
	return b
}

// palette holds the packed pixels of each colour the text uses.
type palette struct {
	bg, fg, dim, err, ok, white, black []byte
}

func newPalette(f Format, dark bool) palette {
	p := palette{white: f.pack(white), black: f.pack(black)}
	if dark {
		p.bg, p.fg = p.black, p.white
		p.dim = f.pack(rgb{0x80, 0x80, 0x80})
		p.err = f.pack(rgb{0xff, 0x50, 0x50})
		p.ok = f.pack(rgb{0x50, 0xe0, 0x50})
	} else {
		// Darker red and green: thin strokes on white must stay legible.
		p.bg, p.fg = p.white, p.black
		p.dim = f.pack(rgb{0x80, 0x80, 0x80})
		p.err = f.pack(rgb{0xc8, 0, 0})
		p.ok = f.pack(rgb{0, 0x80, 0})
	}
	return p
}

// colours returns the ink and paper of attribute a.
func (d *Display) colours(a hal.Attr) (fg, bg []byte) {
	fg, bg = d.pal.fg, d.pal.bg
	switch {
	case a&hal.AttrError != 0:
		fg = d.pal.err
	case a&hal.AttrOK != 0:
		fg = d.pal.ok
	case a&hal.AttrDim != 0:
		fg = d.pal.dim
	}
	if a&hal.AttrReverse != 0 {
		fg, bg = bg, fg
	}
	return fg, bg
}

func (d *Display) screen() image.Rectangle { return image.Rect(0, 0, d.g.Width, d.g.Height) }

// fill paints r (clipped to the screen) with pixel c and marks its rows.
func (d *Display) fill(r image.Rectangle, c []byte) {
	r = r.Intersect(d.screen())
	if r.Empty() {
		return
	}
	n := r.Dx() * d.bpp
	for y := r.Min.Y; y < r.Max.Y; y++ {
		off := y*d.g.Stride + r.Min.X*d.bpp
		row := d.shadow[off : off+n]
		// Doubling copies: a few memmoves per line instead of one per pixel.
		done := copy(row, c)
		for done < n {
			done += copy(row[done:], row[:done])
		}
		d.dirty[y] = true
	}
}

// drawGlyph inks r into the box of cells narrow cells at pixel (x0, y0),
// at the display's scale and clipped to the box. As on the fake printer,
// a wide glyph for a rune hal counts as narrow is squeezed (two columns
// to one) and a narrow glyph in a wide box is centred. Bold strikes again
// one pixel right.
func (d *Display) drawGlyph(x0, y0, cells int, r rune, fg []byte, bold bool) {
	s := d.scale
	boxW := cells * cellPx
	bm, gw, ok := d.font.Glyph(r)
	if !ok || (gw != 8 && gw != 16) || len(bm) < glyph.Height*gw/8 {
		bm, gw = glyph.Box(boxW), boxW
	}
	stride := gw / 8
	squeeze := gw > boxW
	drawn := gw
	if squeeze {
		drawn = gw / 2
	}
	left := (boxW - drawn) / 2
	clip := image.Rect(x0, y0, x0+boxW*s, y0+glyph.Height*s)
	w := s
	if bold {
		w = s + 1
	}
	for gy := 0; gy < glyph.Height; gy++ {
		row := bm[gy*stride : (gy+1)*stride]
		for dx := 0; dx < drawn; dx++ {
			var on bool
			if squeeze {
				on = glyph.Bit(row, 2*dx) || glyph.Bit(row, 2*dx+1)
			} else {
				on = glyph.Bit(row, dx)
			}
			if on {
				px, py := x0+(left+dx)*s, y0+gy*s
				d.fill(image.Rect(px, py, px+w, py+s).Intersect(clip), fg)
			}
		}
	}
}

// drawCell paints the cell at column x, row y from the front buffer and
// returns how many cells it covered: 2 for a wide rune, whose box spans
// its right half too. The right half of a wide rune draws its left half.
func (d *Display) drawCell(x, y int) int {
	i := y*d.cols + x
	c := d.front[i]
	if c.r == contRune {
		if x > 0 && hal.CellWidth(d.front[i-1].r) == 2 {
			return d.drawCell(x-1, y) - 1
		}
		c = cell{r: ' ', a: c.a}
	}
	w := 1
	if hal.CellWidth(c.r) == 2 && x+1 < d.cols {
		w = 2
	}
	fg, bg := d.colours(c.a)
	px, py := d.gx+x*d.cw, d.gy+y*d.ch
	d.fill(image.Rect(px, py, px+w*d.cw, py+d.ch), bg)
	if c.r != ' ' {
		d.drawGlyph(px, py, w, c.r, fg, c.a&hal.AttrBold != 0)
	}
	return w
}

// drawRow paints text row y.
func (d *Display) drawRow(y int) {
	for x := 0; x < d.cols; x++ {
		if d.drawCell(x, y) == 2 {
			x++
		}
	}
}

// covered reports whether text row y is hidden by the picture.
func (d *Display) covered(y int) bool {
	return d.pic != nil && (d.rows < 3 || (y >= 1 && y < d.rows-1))
}

// pictureArea is the band the picture owns: the full width between the
// title row and the footer row, or the whole screen on a grid too small
// to keep them.
func (d *Display) pictureArea() image.Rectangle {
	if d.rows < 3 {
		return d.screen()
	}
	return image.Rect(0, d.gy+d.ch, d.g.Width, d.gy+(d.rows-1)*d.ch)
}

// quietZone is the white border a QR code needs, in modules (ISO 18004).
const quietZone = 4

// drawPicture paints the picture: a white band, the code at the largest
// whole module size that leaves the quiet zone, black on white whatever
// the theme, since phones read dark-on-light codes most reliably.
func (d *Display) drawPicture() {
	b, area := d.pic, d.pictureArea()
	mod := min(area.Dx()/(b.Width+2*quietZone), area.Dy()/(b.Height+2*quietZone))
	if mod < 1 {
		// Too big for its quiet zone: show it unscaled (and clipped)
		// rather than nothing; a phone may still read it.
		mod = 1
	}
	d.fill(area, d.pal.white)
	x0 := area.Min.X + (area.Dx()-b.Width*mod)/2
	y0 := area.Min.Y + (area.Dy()-b.Height*mod)/2
	for my := 0; my < b.Height; my++ {
		for mx := 0; mx < b.Width; mx++ {
			if b.Pix[my*b.Width+mx] != 0 {
				px, py := x0+mx*mod, y0+my*mod
				d.fill(image.Rect(px, py, px+mod, py+mod).Intersect(area), d.pal.black)
			}
		}
	}
}

// redrawCovered brings the text back where the picture was.
func (d *Display) redrawCovered() {
	d.fill(d.pictureArea(), d.pal.bg)
	for y := 0; y < d.rows; y++ {
		if d.rows < 3 || (y >= 1 && y < d.rows-1) {
			d.drawRow(y)
		}
	}
}

// redrawAll repaints the whole shadow from the front buffer and the
// picture; every row becomes dirty.
func (d *Display) redrawAll() {
	d.fill(d.screen(), d.pal.bg)
	for y := 0; y < d.rows; y++ {
		if !d.covered(y) {
			d.drawRow(y)
		}
	}
	if d.pic != nil {
		d.drawPicture()
	}
}
