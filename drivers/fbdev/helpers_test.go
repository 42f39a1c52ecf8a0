package fbdev

import (
	"encoding/binary"
	"image"
	"image/color"
	"testing"

	"github.com/shoukuan/pos/drivers/glyph"
)

// recorder is a framebuffer that counts what is written to it.
type recorder struct {
	mem    Memory
	writes int
	bytes  int
	spans  [][2]int64 // [off, end) of each write
}

func (r *recorder) WriteAt(p []byte, off int64) (int, error) {
	r.writes++
	r.bytes += len(p)
	r.spans = append(r.spans, [2]int64{off, off + int64(len(p))})
	return r.mem.WriteAt(p, off)
}

func (r *recorder) reset() { r.writes, r.bytes, r.spans = 0, 0, nil }

// newRecorded makes a display on a fresh memory framebuffer behind a
// recorder.
func newRecorded(t testing.TB, g Geometry, o Options) (*Display, *recorder) {
	t.Helper()
	st := g.Stride
	if st == 0 {
		st = g.Width * g.Format.BitsPerPixel / 8
	}
	rec := &recorder{mem: make(Memory, g.Offset+int64(g.Height*st))}
	d, err := New(rec, g, o)
	if err != nil {
		t.Fatal(err)
	}
	return d, rec
}

func testFont(t testing.TB) *glyph.Font {
	f, err := glyph.Default()
	if err != nil {
		t.Logf("no Unifont, testing with the built-in font: %v", err)
	}
	return f
}

// decode reads the framebuffer back into an image, independently of the
// driver's packing: each channel is taken from its bitfield and widened
// to 8 bits.
func decode(mem []byte, g Geometry) *image.RGBA {
	bpp := g.Format.BitsPerPixel / 8
	st := g.Stride
	if st == 0 {
		st = g.Width * bpp
	}
	img := image.NewRGBA(image.Rect(0, 0, g.Width, g.Height))
	ch := func(v uint32, bf Bitfield) uint8 {
		max := uint32(1)<<bf.Length - 1
		return uint8((v >> bf.Offset & max) * 255 / max)
	}
	for y := 0; y < g.Height; y++ {
		for x := 0; x < g.Width; x++ {
			off := int(g.Offset) + y*st + x*bpp
			var v uint32
			if bpp == 2 {
				v = uint32(binary.NativeEndian.Uint16(mem[off:]))
			} else {
				v = binary.NativeEndian.Uint32(mem[off:])
			}
			img.SetRGBA(x, y, color.RGBA{ch(v, g.Format.Red), ch(v, g.Format.Green), ch(v, g.Format.Blue), 0xff})
		}
	}
	return img
}

var (
	cWhite = color.RGBA{0xff, 0xff, 0xff, 0xff}
	cBlack = color.RGBA{0, 0, 0, 0xff}
)

// glyphOf is what a cell cells wide should show for r: the font's glyph,
// squeezed when it is wider than the box, or the hollow box.
func glyphOf(f *glyph.Font, r rune, cells int) (ink func(x, y int) bool, width int) {
	box := cells * 8
	bm, gw, ok := f.Glyph(r)
	if !ok {
		bm, gw = glyph.Box(box), box
	}
	st := gw / 8
	if gw > box {
		return func(x, y int) bool {
			row := bm[y*st : (y+1)*st]
			return glyph.Bit(row, 2*x) || glyph.Bit(row, 2*x+1)
		}, box
	}
	left := (box - gw) / 2
	return func(x, y int) bool {
		x -= left
		return x >= 0 && x < gw && glyph.Bit(bm[y*st:(y+1)*st], x)
	}, box
}

// checkCell compares the box of cells cells at pixel (x0, y0) with r drawn
// at scale s: fg where the glyph is inked (or one pixel right of ink, for
// bold), bg elsewhere.
func checkCell(t *testing.T, img *image.RGBA, f *glyph.Font, r rune, x0, y0, cells, s int, fg, bg color.RGBA, bold bool) {
	t.Helper()
	ink, _ := glyphOf(f, r, cells)
	bad := 0
	inked := 0
	for py := y0; py < y0+16*s; py++ {
		for px := x0; px < x0+cells*8*s; px++ {
			on := ink((px-x0)/s, (py-y0)/s)
			if bold && px > x0 {
				on = on || ink((px-1-x0)/s, (py-y0)/s)
			}
			want := bg
			if on {
				want = fg
				inked++
			}
			if got := img.RGBAAt(px, py); got != want {
				if bad < 3 {
					t.Errorf("%q at pixel (%d,%d): %v, want %v", r, px, py, got, want)
				}
				bad++
			}
		}
	}
	if bad > 0 {
		t.Errorf("%q: %d wrong pixels in its %dx%d box at (%d,%d)", r, bad, cells*8*s, 16*s, x0, y0)
	}
	if inked == 0 && r != ' ' {
		t.Errorf("%q: nothing inked; a test of nothing", r)
	}
}

// checkFill reports pixels of rect that are not c.
func checkFill(t *testing.T, img *image.RGBA, rect image.Rectangle, c color.RGBA, what string) {
	t.Helper()
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		for x := rect.Min.X; x < rect.Max.X; x++ {
			if got := img.RGBAAt(x, y); got != c {
				t.Errorf("%s: pixel (%d,%d) is %v, want %v", what, x, y, got, c)
				return
			}
		}
	}
}
