package imagescan

import (
	"math/rand/v2"
	"testing"

	"github.com/shoukuan/pos/hal"
)

// FuzzDecodeFrame feeds frames of any geometry and content: a decode
// either succeeds or returns an error, never panics, and never claims a
// symbology other than the two it reads.
func FuzzDecodeFrame(f *testing.F) {
	qr := codeFrame(f, hal.SymQR, "seed", 3)
	f.Add(qr.Width, qr.Height, qr.Stride, uint8(Grey), qr.Pix)
	y := yuyv(codeFrame(f, hal.SymCode128, "123456", 2), 4)
	f.Add(y.Width, y.Height, y.Stride, uint8(YUYV), y.Pix)
	// finders found, grid failing: the regrid's way (see qrgrid.go)
	c := curvedSticker(f, stickerText, 2.5)
	f.Add(c.Width, c.Height, c.Stride, uint8(Grey), c.Pix)
	// level bars blurred past their edges: the fit's way (see c128fit.go)
	b := blurredBars(code128Modules(f, "284012345678901234"), 2.4, 1.5, func(int) float64 { return 0 }, rand.New(rand.NewPCG(1, 2)))
	f.Add(b.Width, b.Height, b.Stride, uint8(Grey), b.Pix)
	f.Add(64, 48, 64, uint8(Grey), make([]byte, 64*48))
	f.Add(2, 2, 4, uint8(YUYV), []byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Add(-1, 5, 0, uint8(9), []byte{})
	d := NewDecoder()
	f.Fuzz(func(t *testing.T, w, h, stride int, format uint8, pix []byte) {
		c, err := d.DecodeFrame(Frame{Width: w, Height: h, Stride: stride, Format: Format(format), Pix: pix})
		if err == nil && c.Symbology != hal.SymQR && c.Symbology != hal.SymCode128 {
			t.Fatalf("decoded %+v", c)
		}
	})
}
