package fbdev

import (
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoukuan/pos/drivers/glyph"
	"github.com/shoukuan/pos/hal"
)

// textCases are panels with the grid, scale and origin they must get,
// worked out by hand: the largest whole scale that fits, centred.
var textCases = []struct {
	name       string
	g          Geometry
	cols, rows int // asked for; 0 is the default
	wantCols   int
	wantRows   int
	scale      int
	ox, oy     int
}{
	{"RGB565 ili9341 32x12", Geometry{Width: 320, Height: 240, Format: RGB565}, 32, 12, 32, 12, 1, 32, 24},
	{"XRGB8888 640x480 32x12", Geometry{Width: 640, Height: 480, Format: XRGB8888}, 32, 12, 32, 12, 2, 64, 48},
	{"BGR565 default grid", Geometry{Width: 320, Height: 240, Format: BGR565}, 0, 0, 40, 15, 1, 0, 0},
	{"XBGR8888 padded and panned", Geometry{Width: 480, Height: 272, Stride: 480*4 + 64, Format: XBGR8888, Offset: 4096}, 40, 15, 40, 15, 1, 80, 16},
	{"RGB565 480x320 30x10", Geometry{Width: 480, Height: 320, Format: RGB565}, 30, 10, 30, 10, 2, 0, 0},
}

func TestTextPixelsMatchGlyphs(t *testing.T) {
	f := testFont(t)
	for _, tc := range textCases {
		t.Run(tc.name, func(t *testing.T) {
			d, rec := newRecorded(t, tc.g, Options{Cols: tc.cols, Rows: tc.rows, Font: f})
			if c, r := d.Size(); c != tc.wantCols || r != tc.wantRows || d.Scale() != tc.scale {
				t.Fatalf("grid %dx%d at %dx, want %dx%d at %dx", c, r, d.Scale(), tc.wantCols, tc.wantRows, tc.scale)
			}
			d.SetCell(1, 0, 'A', 0)
			d.SetCell(2, 1, '中', 0)
			d.SetCell(5, 2, 'g', hal.AttrBold)
			d.SetCell(0, 3, 'R', hal.AttrReverse)
			d.SetCell(6, 4, '①', 0) // narrow to hal; Unifont's glyph is wide: squeezed
			if err := d.Flush(); err != nil {
				t.Fatal(err)
			}
			img := decode(rec.mem, d.Geometry())
			s := tc.scale
			at := func(x, y int) (int, int) { return tc.ox + x*8*s, tc.oy + y*16*s }
			x, y := at(1, 0)
			checkCell(t, img, f, 'A', x, y, 1, s, cBlack, cWhite, false)
			x, y = at(2, 1)
			checkCell(t, img, f, '中', x, y, 2, s, cBlack, cWhite, false)
			x, y = at(5, 2)
			checkCell(t, img, f, 'g', x, y, 1, s, cBlack, cWhite, true)
			x, y = at(0, 3)
			checkCell(t, img, f, 'R', x, y, 1, s, cWhite, cBlack, false)
			x, y = at(6, 4)
			checkCell(t, img, f, '①', x, y, 1, s, cBlack, cWhite, false)
			x, y = at(4, 1)
			checkFill(t, img, image.Rect(x, y, x+8*s, y+16*s), cWhite, "blank cell after the wide rune")
			// Margins round the grid are paper too.
			checkFill(t, img, image.Rect(0, 0, tc.g.Width, tc.oy), cWhite, "top margin")
			checkFill(t, img, image.Rect(0, 0, tc.ox, tc.g.Height), cWhite, "left margin")
			if tc.g.Offset > 0 && rec.mem[tc.g.Offset-1] != 0 {
				t.Error("wrote before the panning offset")
			}
		})
	}
}

func TestAttributeColours(t *testing.T) {
	f := testFont(t)
	for _, format := range []Format{RGB565, BGR565, XRGB8888, XBGR8888} {
		t.Run(format.String(), func(t *testing.T) {
			g := Geometry{Width: 320, Height: 240, Format: format}
			d, rec := newRecorded(t, g, Options{Cols: 32, Rows: 12, Font: f})
			for i, a := range []hal.Attr{hal.AttrError, hal.AttrOK, hal.AttrDim, hal.AttrError | hal.AttrReverse} {
				d.SetCell(i, 0, '#', a)
			}
			if err := d.Flush(); err != nil {
				t.Fatal(err)
			}
			img := decode(rec.mem, g)
			// What the channel widths keep of the theme's colours.
			q := func(v uint8, bf Bitfield) uint8 {
				max := 1<<bf.Length - 1
				return uint8(int(v) >> (8 - bf.Length) * 255 / max)
			}
			c := func(r, g, b uint8) color.RGBA {
				return color.RGBA{q(r, format.Red), q(g, format.Green), q(b, format.Blue), 0xff}
			}
			red, green, grey := c(0xc8, 0, 0), c(0, 0x80, 0), c(0x80, 0x80, 0x80)
			checkCell(t, img, f, '#', 32, 24, 1, 1, red, cWhite, false)
			checkCell(t, img, f, '#', 40, 24, 1, 1, green, cWhite, false)
			checkCell(t, img, f, '#', 48, 24, 1, 1, grey, cWhite, false)
			checkCell(t, img, f, '#', 56, 24, 1, 1, cWhite, red, false)
			if format == BGR565 {
				// The raw pixel behind the red background: red in the low bits.
				off := 24*g.Width*2 + 56*2
				if v := uint16(rec.mem[off]) | uint16(rec.mem[off+1])<<8; v != 0xc8>>3 {
					t.Errorf("BGR565 red pixel %#04x, want %#04x", v, 0xc8>>3)
				}
			}
		})
	}
}

func TestDarkTheme(t *testing.T) {
	f := testFont(t)
	g := Geometry{Width: 320, Height: 240, Format: XRGB8888}
	d, rec := newRecorded(t, g, Options{Cols: 32, Rows: 12, Font: f, Dark: true})
	d.SetCell(0, 0, '收', 0)
	d.SetCell(2, 0, 'k', hal.AttrReverse)
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	img := decode(rec.mem, g)
	checkCell(t, img, f, '收', 32, 24, 2, 1, cWhite, cBlack, false)
	checkCell(t, img, f, 'k', 48, 24, 1, 1, cBlack, cWhite, false)
	checkFill(t, img, image.Rect(0, 0, 320, 24), cBlack, "dark margin")
}

func TestWritesOutsideGridIgnored(t *testing.T) {
	f := testFont(t)
	g := Geometry{Width: 320, Height: 240, Format: RGB565}
	d, rec := newRecorded(t, g, Options{Cols: 32, Rows: 12, Font: f})
	d.SetCell(0, 0, 'x', 0)
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	before := append([]byte(nil), rec.mem...)
	rec.reset()
	for _, p := range [][2]int{{-1, 0}, {32, 0}, {0, -1}, {0, 12}, {1000, 1000}, {-5, 3}} {
		d.SetCell(p[0], p[1], 'W', hal.AttrReverse)
	}
	d.SetCell(3, 3, 0x301, 0) // zero width: ignored
	d.SetCell(4, 4, '\n', 0)
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	if rec.bytes != 0 || string(rec.mem) != string(before) {
		t.Errorf("writes outside the grid changed the screen (%d bytes written)", rec.bytes)
	}
}

func TestWideRuneHalves(t *testing.T) {
	f := testFont(t)
	g := Geometry{Width: 320, Height: 240, Format: RGB565}
	d, rec := newRecorded(t, g, Options{Cols: 32, Rows: 12, Font: f})
	d.SetCell(31, 0, '中', 0) // no room for the right half: a blank, as on the console
	d.SetCell(4, 1, '中', 0)
	d.SetCell(5, 1, 'b', 0) // over its right half: the left half goes
	d.SetCell(8, 2, '文', 0)
	d.SetCell(7, 2, '字', 0) // over its left half: 文 goes entirely
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	img := decode(rec.mem, g)
	checkFill(t, img, image.Rect(32+31*8, 24, 32+32*8, 40), cWhite, "wide rune in the last column")
	checkFill(t, img, image.Rect(32+4*8, 40, 32+5*8, 56), cWhite, "left half of an overwritten wide rune")
	checkCell(t, img, f, 'b', 32+5*8, 40, 1, 1, cBlack, cWhite, false)
	checkCell(t, img, f, '字', 32+7*8, 56, 2, 1, cBlack, cWhite, false)
	checkFill(t, img, image.Rect(32+9*8, 56, 32+10*8, 72), cWhite, "right half of 文")
}

func TestFlushWritesOnlyChangedRows(t *testing.T) {
	f := testFont(t)
	for _, tc := range textCases {
		t.Run(tc.name, func(t *testing.T) {
			d, rec := newRecorded(t, tc.g, Options{Cols: tc.cols, Rows: tc.rows, Font: f})
			st := d.Geometry().Stride
			if err := d.Flush(); err != nil {
				t.Fatal(err)
			}
			if rec.bytes != tc.g.Height*st {
				t.Errorf("first Flush wrote %d bytes, want the whole screen, %d", rec.bytes, tc.g.Height*st)
			}
			rec.reset()
			if err := d.Flush(); err != nil || rec.bytes != 0 {
				t.Errorf("Flush with no change wrote %d bytes (%v)", rec.bytes, err)
			}
			rowBytes := 16 * tc.scale * st
			rowSpan := func(y int) [2]int64 {
				off := tc.g.Offset + int64((tc.oy+y*16*tc.scale)*st)
				return [2]int64{off, off + int64(rowBytes)}
			}
			rec.reset()
			d.SetCell(3, 5, 'x', 0)
			d.SetCell(9, 5, '元', 0)
			d.SetCell(0, 8, '7', hal.AttrBold)
			if err := d.Flush(); err != nil {
				t.Fatal(err)
			}
			if rec.writes != 2 || rec.bytes != 2*rowBytes || rec.spans[0] != rowSpan(5) || rec.spans[1] != rowSpan(8) {
				t.Errorf("two changed rows: %d writes %v (%d bytes), want %v %v", rec.writes, rec.spans, rec.bytes, rowSpan(5), rowSpan(8))
			}
			rec.reset()
			d.SetCell(3, 5, 'x', 0) // the same again: nothing to do
			d.Clear()
			d.SetCell(3, 5, 'x', 0)
			d.SetCell(9, 5, '元', 0)
			d.SetCell(0, 8, '7', hal.AttrBold)
			if err := d.Flush(); err != nil || rec.bytes != 0 {
				t.Errorf("redrawing the same screen wrote %d bytes (%v)", rec.bytes, err)
			}
			rec.reset()
			d.SetCell(0, 8, '7', 0) // only the attribute changes
			if err := d.Flush(); err != nil || rec.spans == nil || rec.spans[0] != rowSpan(8) || rec.bytes != rowBytes {
				t.Errorf("attribute change: %v (%v)", rec.spans, err)
			}
		})
	}
}

// failing fails its writes while fail is set.
type failing struct {
	Memory
	fail bool
}

func (f *failing) WriteAt(p []byte, off int64) (int, error) {
	if f.fail {
		return 0, errors.New("spi bus error")
	}
	return f.Memory.WriteAt(p, off)
}

func TestFailedFlushIsRetried(t *testing.T) {
	f := testFont(t)
	g := Geometry{Width: 320, Height: 240, Format: RGB565}
	fb := &failing{Memory: make(Memory, 320*240*2), fail: true}
	d, err := New(fb, g, Options{Cols: 32, Rows: 12, Font: f})
	if err != nil {
		t.Fatal(err)
	}
	d.SetCell(0, 0, 'Z', 0)
	if err := d.Flush(); err == nil || !strings.Contains(err.Error(), "spi bus error") {
		t.Fatalf("Flush = %v, want the write error", err)
	}
	fb.fail = false
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	checkCell(t, decode(fb.Memory, g), f, 'Z', 32, 24, 1, 1, cBlack, cWhite, false)
}

func TestGeometryErrors(t *testing.T) {
	for _, tc := range []struct {
		g    Geometry
		o    Options
		mem  int
		want string
	}{
		{Geometry{Width: 320, Height: 240, Stride: 600, Format: RGB565}, Options{}, 1 << 20, "stride 600 bytes is less than one 320-pixel line of 640 bytes"},
		{Geometry{Width: 320, Height: 240, Format: Format{BitsPerPixel: 24}}, Options{}, 1 << 20, "24 bits per pixel not supported"},
		{Geometry{Width: 320, Height: 240, Format: Format{BitsPerPixel: 8}}, Options{}, 1 << 20, "8 bits per pixel not supported"},
		{Geometry{Width: 320, Height: 240, Format: Format{BitsPerPixel: 16, Red: Bitfield{12, 5}, Green: Bitfield{5, 6}, Blue: Bitfield{0, 5}}}, Options{}, 1 << 20, "red bitfield offset 12 length 5 does not fit"},
		{Geometry{Width: 320, Height: 240, Format: Format{BitsPerPixel: 16, Red: Bitfield{10, 5}, Green: Bitfield{5, 6}, Blue: Bitfield{0, 5}}}, Options{}, 1 << 20, "overlaps"},
		{Geometry{Width: 0, Height: 240, Format: RGB565}, Options{}, 1 << 20, "screen 0x240 pixels"},
		{Geometry{Width: 320, Height: 240, Format: RGB565}, Options{}, 320 * 239 * 2, "framebuffer of 152960 bytes"},
		{Geometry{Width: 320, Height: 240, Format: RGB565}, Options{Cols: 41, Rows: 12}, 1 << 20, "a 41x12-cell grid needs 328x192 pixels; the screen is 320x240"},
	} {
		_, err := New(make(Memory, tc.mem), tc.g, tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.g, err, tc.want)
		}
	}
	if _, err := New(nil, Geometry{Width: 8, Height: 16, Format: RGB565}, Options{}); err == nil {
		t.Error("nil target accepted")
	}
}

func TestClose(t *testing.T) {
	d, _ := newRecorded(t, Geometry{Width: 320, Height: 240, Format: RGB565}, Options{})
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Flush(); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close = %v", err)
	}
	d.ShowPicture(&hal.Bitmap{Width: 1, Height: 1, Pix: []byte{1}}) // must not panic or write
	if err := d.Close(); err != nil {
		t.Error("second Close:", err)
	}
}

func BenchmarkFlushFullScreen(b *testing.B) {
	f := testFont(b)
	d, err := New(make(Memory, 320*240*2), Geometry{Width: 320, Height: 240, Format: RGB565}, Options{Font: f})
	if err != nil {
		b.Fatal(err)
	}
	cols, rows := d.Size()
	text := []rune("收款 Sale ¥12.34 请刷卡 0123456789")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// Every cell changes each time, so every row is drawn and written.
		for y := 0; y < rows; y++ {
			for x := 0; x < cols; x++ {
				d.SetCell(x, y, text[(x+y+i)%len(text)], 0)
			}
		}
		if err := d.Flush(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCustomFontEdges uses a made-up font for two cases Unifont never
// has: a wide rune with a narrow glyph (centred in its two cells) and a
// bold glyph inked up to its last column (clipped, not bleeding into the
// next cell).
func TestCustomFontEdges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "edge.hex")
	hex := "4E2D:" + strings.Repeat("81", 16) + "\n" + // 中: the two edge columns
		"0042:" + strings.Repeat("FF", 16) + "\n" // B: a solid block
	if err := os.WriteFile(path, []byte(hex), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := glyph.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	g := Geometry{Width: 640, Height: 480, Format: XRGB8888}
	d, rec := newRecorded(t, g, Options{Cols: 32, Rows: 12, Font: f})
	d.SetCell(0, 0, '中', 0)
	d.SetCell(3, 0, 'B', hal.AttrBold)
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	img := decode(rec.mem, g)
	// At scale 2 the 8-px glyph sits 4 font pixels (8 px) into its 32-px box.
	checkFill(t, img, image.Rect(64, 48, 72, 80), cWhite, "left of a centred narrow glyph")
	checkFill(t, img, image.Rect(72, 48, 74, 80), cBlack, "left column of a centred narrow glyph")
	checkFill(t, img, image.Rect(74, 48, 86, 80), cWhite, "inside a centred narrow glyph")
	checkFill(t, img, image.Rect(86, 48, 88, 80), cBlack, "right column of a centred narrow glyph")
	checkFill(t, img, image.Rect(88, 48, 96, 80), cWhite, "right of a centred narrow glyph")
	checkFill(t, img, image.Rect(64+3*16, 48, 64+4*16, 80), cBlack, "bold block")
	checkFill(t, img, image.Rect(64+4*16, 48, 64+5*16, 80), cWhite, "cell after a bold block")
}
