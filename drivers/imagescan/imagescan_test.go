package imagescan

import (
	"errors"
	"image"
	"image/color"
	"path/filepath"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/shoukuan/pos/hal"
)

func TestDecodeFiles(t *testing.T) {
	d := NewDecoder()
	for file, want := range map[string]hal.Code{
		"wechat.png":          {Symbology: hal.SymQR, Text: "134567890123456789"},
		"alipay-darkmode.png": {Symbology: hal.SymQR, Text: "2599887766554433"},
		"product-barcode.png": {Symbology: hal.SymCode128, Text: "6901234567892"},
	} {
		got, err := d.DecodeFile(filepath.Join("..", "..", "testdata", "codes", file))
		if err != nil || got != want {
			t.Errorf("%s: %+v %v", file, got, err)
		}
	}
}

func TestDecodeBlankImage(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	img.SetGray(3, 3, color.Gray{})
	if _, err := NewDecoder().Decode(img); !errors.Is(err, ErrNoCode) {
		t.Fatalf("blank image: %v", err)
	}
	if _, err := NewDecoder().DecodeFile("imagescan.go"); err == nil {
		t.Fatal("a Go file decoded as an image")
	}
}

// codeFrame draws a code with gozxing's writers, scale pixels a module,
// black on white, as a grey frame.
func codeFrame(t testing.TB, sym hal.Symbology, text string, scale int) Frame {
	var m *gozxing.BitMatrix
	var err error
	if sym == hal.SymQR {
		m, err = qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 1, 1, nil)
	} else {
		m, err = oned.NewCode128Writer().Encode(text, gozxing.BarcodeFormat_CODE_128, 1, 40, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	w, h := m.GetWidth()*scale, m.GetHeight()*scale
	f := Frame{Width: w, Height: h, Stride: w, Format: Grey, Pix: make([]byte, w*h)}
	for y := range h {
		for x := range w {
			if !m.Get(x/scale, y/scale) {
				f.Pix[y*w+x] = 255
			}
		}
	}
	return f
}

// yuyv packs a grey frame as YUYV with chroma noise and padded rows.
func yuyv(g Frame, pad int) Frame {
	stride := 2*g.Width + pad
	f := Frame{Width: g.Width, Height: g.Height, Stride: stride, Format: YUYV, Pix: make([]byte, stride*g.Height)}
	for y := range g.Height {
		for x := range g.Width {
			f.Pix[y*stride+2*x] = g.Pix[y*g.Stride+x]
			f.Pix[y*stride+2*x+1] = byte(x*31 + y*17) // U or V
		}
		for i := 2 * g.Width; i < stride; i++ {
			f.Pix[y*stride+i] = 0xAA
		}
	}
	return f
}

func TestYUYV(t *testing.T) {
	g := codeFrame(t, hal.SymQR, "https://qr.alipay.com/bax01234", 4)
	f := yuyv(g, 12)
	y, err := f.YPlane(nil)
	if err != nil {
		t.Fatal(err)
	}
	if y.Format != Grey || y.Width != g.Width || y.Height != g.Height || y.Stride != g.Width || string(y.Pix) != string(g.Pix) {
		t.Fatalf("Y plane differs from the grey frame: %dx%d stride %d", y.Width, y.Height, y.Stride)
	}
	d := NewDecoder()
	for range 2 { // the second frame reuses the decoder's Y buffer
		c, err := d.DecodeFrame(f)
		if err != nil || c != (hal.Code{Symbology: hal.SymQR, Text: "https://qr.alipay.com/bax01234"}) {
			t.Fatalf("YUYV frame: %+v %v", c, err)
		}
	}
	if y, _ := g.YPlane(nil); &y.Pix[0] != &g.Pix[0] {
		t.Fatal("a grey frame was copied")
	}
}

func TestFrameCheck(t *testing.T) {
	ok := Frame{Width: 4, Height: 2, Stride: 8, Format: YUYV, Pix: make([]byte, 16)}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	for want, f := range map[string]Frame{
		"unknown format": {Width: 4, Height: 2, Stride: 8, Format: 7, Pix: make([]byte, 16)},
		"0x2":            {Width: 0, Height: 2, Stride: 8, Format: YUYV, Pix: make([]byte, 16)},
		"9000x1":         {Width: 9000, Height: 1, Stride: 18000, Format: YUYV, Pix: make([]byte, 18000)},
		"odd":            {Width: 3, Height: 2, Stride: 8, Format: YUYV, Pix: make([]byte, 16)},
		"stride 6 < 8":   {Width: 4, Height: 2, Stride: 6, Format: YUYV, Pix: make([]byte, 16)},
		"15 bytes":       {Width: 4, Height: 2, Stride: 8, Format: YUYV, Pix: make([]byte, 15)},
		"-1x2":           {Width: -1, Height: 2, Stride: 8, Format: Grey, Pix: make([]byte, 16)},
	} {
		err := f.Check()
		if !errors.Is(err, ErrBadFrame) || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want %q", f, err, want)
		}
		if _, err := NewDecoder().DecodeFrame(f); !errors.Is(err, ErrBadFrame) {
			t.Errorf("decoded a bad frame: %v", err)
		}
	}
	// the last row needs only its pixels, not a whole stride
	short := Frame{Width: 4, Height: 2, Stride: 10, Format: Grey, Pix: make([]byte, 14)}
	if err := short.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestGreyFrameFormats(t *testing.T) {
	r := image.Rect(10, 20, 13, 22) // not at the origin
	gray := image.NewGray(r)
	rgba := image.NewRGBA(r)
	nrgba := image.NewNRGBA(r)
	pal := image.NewPaletted(r, color.Palette{color.Black, color.White, color.RGBA{100, 100, 100, 255}})
	ycc := image.NewYCbCr(r, image.YCbCrSubsampleRatio420)
	g16 := image.NewGray16(r)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			v := uint8(x*40 + y)
			gray.SetGray(x, y, color.Gray{v})
			rgba.Set(x, y, color.Gray{v})
			nrgba.Set(x, y, color.Gray{v})
			ycc.Y[ycc.YOffset(x, y)] = v
			g16.SetGray16(x, y, color.Gray16{uint16(v) * 0x101})
			pal.SetColorIndex(x, y, uint8(x%3))
		}
	}
	for name, img := range map[string]image.Image{"gray": gray, "rgba": rgba, "nrgba": nrgba, "ycbcr": ycc, "gray16": g16} {
		f := GreyFrame(img)
		if f.Width != 3 || f.Height != 2 || f.Check() != nil {
			t.Fatalf("%s: %+v", name, f)
		}
		for y := range 2 {
			for x := range 3 {
				if got, want := f.Pix[y*f.Stride+x], uint8((x+10)*40+y+20); got != want {
					t.Errorf("%s (%d,%d) = %d, want %d", name, x, y, got, want)
				}
			}
		}
	}
	f := GreyFrame(pal)
	if f.Pix[0] != 255 || f.Pix[1] != 100 || f.Pix[2] != 0 { // x = 10, 11, 12
		t.Errorf("paletted: %v", f.Pix[:3])
	}
	// transparency is composed over white, as on a screen
	clear := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	clear.Set(1, 0, color.NRGBA{0, 0, 0, 128})
	for _, img := range []image.Image{clear, toRGBA(clear)} {
		if f := GreyFrame(img); f.Pix[0] != 255 || f.Pix[1] < 126 || f.Pix[1] > 128 {
			t.Errorf("%T alpha: %v", img, f.Pix)
		}
	}
}

func toRGBA(src image.Image) *image.RGBA {
	dst := image.NewRGBA(src.Bounds())
	for y := src.Bounds().Min.Y; y < src.Bounds().Max.Y; y++ {
		for x := src.Bounds().Min.X; x < src.Bounds().Max.X; x++ {
			dst.Set(x, y, src.At(x, y))
		}
	}
	return dst
}

func TestPlaneSource(t *testing.T) {
	p := &plane{w: 3, h: 2, stride: 5, pix: []byte{1, 2, 3, 0, 0, 4, 5, 6}}
	if m := p.GetMatrix(); string(m) != "\x01\x02\x03\x04\x05\x06" {
		t.Fatalf("matrix %v", m)
	}
	if row, err := p.GetRow(1, nil); err != nil || string(row) != "\x04\x05\x06" {
		t.Fatalf("row %v %v", row, err)
	}
	if _, err := p.GetRow(2, nil); err == nil {
		t.Fatal("row past the end")
	}
	r, _ := p.RotateCounterClockwise()
	if m := r.GetMatrix(); r.GetWidth() != 2 || r.GetHeight() != 3 || string(m) != "\x03\x06\x02\x05\x01\x04" {
		t.Fatalf("rotated %dx%d %v", r.GetWidth(), r.GetHeight(), m)
	}
	c, err := p.Crop(1, 1, 2, 1)
	if err != nil || string(c.GetMatrix()) != "\x05\x06" {
		t.Fatalf("crop %v", err)
	}
	if _, err := p.Crop(2, 0, 2, 1); err == nil {
		t.Fatal("crop outside")
	}
	if m := p.Invert().GetMatrix(); m[0] != 254 || m[5] != 249 {
		t.Fatalf("inverted %v", m)
	}
	if _, err := p.RotateCounterClockwise45(); err == nil {
		t.Fatal("45° rotation")
	}
}

func TestLatin1(t *testing.T) {
	if got := latin1("\xf3\xf31234ab"); got != "óó1234ab" {
		t.Fatalf("%q", got)
	}
	if got := latin1("plain"); got != "plain" {
		t.Fatalf("%q", got)
	}
}

// A phone photo of 3000×2000 is decoded shrunk; Code 128 at full size.
func TestLargeFrames(t *testing.T) {
	d := NewDecoder()
	for _, c := range []struct {
		sym   hal.Symbology
		text  string
		scale int
	}{{hal.SymQR, "https://qr.alipay.com/bax99", 40}, {hal.SymCode128, "283456789012345678", 6}} {
		code := codeFrame(t, c.sym, c.text, c.scale)
		f := Frame{Width: 3000, Height: 2000, Stride: 3000, Pix: make([]byte, 3000*2000)}
		for i := range f.Pix {
			f.Pix[i] = 255
		}
		for y := range code.Height {
			copy(f.Pix[(300+y)*3000+200:], code.Pix[y*code.Width:(y+1)*code.Width])
		}
		got, err := d.DecodeFrame(f)
		if err != nil || got.Text != c.text || got.Symbology != c.sym {
			t.Errorf("%s: %+v %v", c.sym, got, err)
		}
		t.Logf("%s decoded in pass %d (%s)", c.sym, d.lastPass, d.passes[d.lastPass].why)
	}
}

// The live decoder reads a phone held in front of the camera within a
// few frames of the same picture: what the plain or upright pass reads at
// once, dark mode within two frames, the rest within two rounds.
func TestLiveDecoder(t *testing.T) {
	still := NewDecoder()
	// within is how many frames the live decoder may take, by the pass
	// the still-image decoder reads the scene with.
	within := func(f Frame) int {
		if _, err := still.DecodeFrame(f); err != nil {
			t.Fatal(err)
		}
		switch still.lastPass {
		case 0, orientPass:
			return 1
		case darkPass:
			return 2
		}
		return 2 * len(defaultPasses)
	}
	for name, s := range phoneScenes {
		f := s.render(t)
		d := NewLiveDecoder()
		n, most := 0, within(f)
		for n < most {
			n++
			c, err := d.DecodeFrame(f)
			if err != nil {
				continue
			}
			if c.Text != s.text {
				t.Fatalf("%s: FALSE READ %+v", name, c)
			}
			break
		}
		if d.lastPass < 0 {
			t.Errorf("%s: not read within %d frames", name, most)
			continue
		}
		t.Logf("%-20s read on frame %d", name, n)
	}
}
