package imagescan

import (
	"math"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/shoukuan/pos/hal"
)

// curvedSticker is a QR code printed on a sticker bent round a counter
// stand: the finder corners sit where a flat code would put them, and
// the columns between are pushed outwards, most (bulge × 0.35 modules)
// halfway between the centre and the edges; overexposed, so that white
// bleeds into the dark modules, and blurred, as in a phone photo.
func curvedSticker(t testing.TB, text string, bulge float64) Frame {
	t.Helper()
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 1, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	dim := float64(m.GetWidth()) // with its quiet zone
	const module = 6.0

	side := max(320, int(dim*module)+40)
	origin := (float64(side) - dim*module) / 2
	f := Frame{Width: side, Height: side, Stride: side, Format: Grey, Pix: make([]byte, side*side)}
	for y := range side {
		for x := range side {
			// 3×3 samples a pixel: edges grey as through a lens
			light := 0.0
			for sy := range 3 {
				for sx := range 3 {
					u := (float64(x)+(float64(sx)+0.5)/3-origin)/module - dim/2
					v := (float64(y)+(float64(sy)+0.5)/3-origin)/module - dim/2
					// the bulge: nothing at the edges, most in the middle
					push := bulge * math.Cos(math.Pi*u/dim) * math.Cos(math.Pi*v/dim)
					u -= push * u / (dim / 2)
					// overexposed: white bleeds 0.15 of a module
					// into the dark modules around it
					dark := true
					for _, d := range [][2]float64{{-1, -1}, {1, -1}, {-1, 1}, {1, 1}} {
						i := int(math.Floor(u + dim/2 + d[0]*0.15))
						j := int(math.Floor(v + dim/2 + d[1]*0.15))
						dark = dark && i >= 0 && j >= 0 && i < m.GetWidth() && j < m.GetHeight() && m.Get(i, j)
					}
					if !dark {
						light++
					}
				}
			}
			f.Pix[y*side+x] = byte(40 + light/9*200)
		}
	}
	// blur, then white bleeding into the dark modules
	blurred := make([]byte, len(f.Pix))
	for y := range side {
		for x := range side {
			s, n := 0, 0
			for yy := max(y-2, 0); yy <= min(y+2, side-1); yy++ {
				for xx := max(x-2, 0); xx <= min(x+2, side-1); xx++ {
					s += int(f.Pix[yy*side+xx])
					n++
				}
			}
			v := float64(s) / float64(n)
			blurred[y*side+x] = byte(255 * math.Pow(v/255, 0.7))
		}
	}
	f.Pix = blurred
	return f
}

// The regrid reads a bent, overexposed sticker that no other pass and
// not gozxing's own reader can, and a sticker too far gone is refused, not
// misread.
func TestCurvedStickerRegrid(t *testing.T) {
	f := curvedSticker(t, stickerText, 2.5)
	// gozxing's own reader, as an app would use it
	bmp, _ := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(planeOf(f)))
	if r, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}); err == nil {
		t.Fatalf("gozxing alone read the sticker (%q): it no longer tests the regrid", r.GetText())
	}
	plans := regridPlans
	regridPlans = nil
	_, err := NewDecoder().DecodeFrame(f)
	regridPlans = plans
	if err == nil {
		t.Fatal("the passes read the sticker without the regrid: it no longer tests the regrid")
	}
	d := NewDecoder()
	c, err := d.DecodeFrame(f)
	if err != nil {
		t.Fatalf("curved sticker: %v", err)
	}
	if c.Symbology != hal.SymQR || c.Text != stickerText {
		t.Fatalf("curved sticker read as %s %q", c.Symbology, c.Text)
	}
	// The camera reads it in its first frame: the regrid is part of the
	// plain pass that every live frame gets.
	if c, err := NewLiveDecoder().DecodeFrame(f); err != nil || c.Text != stickerText {
		t.Fatalf("live, first frame: %q, %v", c.Text, err)
	}
	// Bent further, past what the shifts reach: no code, and no other
	// code either.
	if c, err := d.DecodeFrame(curvedSticker(t, stickerText, 4)); err == nil {
		t.Fatalf("a sticker bent further read as %q", c.Text)
	}
}

const stickerText = "https://payapp.weixin.qq.com/qr/AQHx3vJ0Gp5kZQn7?t=pos"

// BenchmarkRegrid is a frame whose QR finders are found and whose grid
// fails: the cost regrid adds to a frame before it gives up, and the
// cost of the frame it rescues.
func BenchmarkRegrid(b *testing.B) {
	for _, c := range []struct {
		name  string
		bulge float64
	}{{"read", 2.5}, {"refused", 4}} {
		f := curvedSticker(b, stickerText, c.bulge)
		b.Run(c.name, func(b *testing.B) {
			d := NewDecoder()
			for b.Loop() {
				d.DecodeFrame(f)
			}
		})
	}
}

// Bars make finder-like crosses in plenty, upright bars most; their
// grids fail their format or timing checks, and the regrid does not run
// on them (it would cost tens of milliseconds a frame on a made-up grid
// of a hundred-odd modules).
func TestNoRegridOnBars(t *testing.T) {
	d := NewDecoder()
	for _, dark := range []bool{false, true} {
		for a := 0; a < 360; a += 15 {
			s := scene{sym: hal.SymCode128, text: payCode, module: 2.6, angle: float64(a) + 0.7, dark: dark, ink: 30, bg: 225, noise: 12}
			c, err := d.DecodeFrame(s.render(t))
			if err != nil || c.Text != payCode {
				t.Fatalf("bars at %d° (dark %v): %q, %v", a, dark, c.Text, err)
			}
			if len(d.regridded) != 0 {
				t.Errorf("bars at %d° (dark %v): regrid ran on %d views", a, dark, len(d.regridded))
			}
		}
	}
}

// A code past version 15 is not regridded (its cost grows with the
// square of its side): with a third of its data blotted out, it stays
// unread without a regrid; one of version 4 so blotted is regridded.
func TestNoRegridOnLargeCodes(t *testing.T) {
	for _, c := range []struct {
		text    string
		regrids bool
	}{
		{strings.Repeat("https://qr.95516.com/00010000/", 20), false}, // version 20
		{stickerText, true}, // version 4
	} {
		f := codeFrame(t, hal.SymQR, c.text, 4)
		// blot out a band across the middle: far past correction, and
		// clear of the finders and the timing patterns
		for y := f.Height * 2 / 5; y < f.Height*3/5; y++ {
			for x := f.Width / 3; x < f.Width; x++ {
				f.Pix[y*f.Stride+x] = 0
			}
		}
		d := NewDecoder()
		if _, err := d.DecodeFrame(f); err == nil {
			t.Fatalf("a blotted code of %d characters read", len(c.text))
		}
		if got := len(d.regridded) != 0; got != c.regrids {
			t.Errorf("a code of %d characters: regridded %v, want %v", len(c.text), got, c.regrids)
		}
	}
}
