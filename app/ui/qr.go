package ui

import (
	"fmt"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/shoukuan/pos/hal"
)

// QR encodes text as a QR code, one pixel per module and no quiet zone
// (the display adds its own), error correction M: a phone reads it off
// a scratched or glaring terminal screen.
func QR(text string) (*hal.Bitmap, error) {
	hints := map[gozxing.EncodeHintType]any{
		gozxing.EncodeHintType_ERROR_CORRECTION: "M",
		gozxing.EncodeHintType_MARGIN:           0,
	}
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 0, 0, hints)
	if err != nil {
		return nil, fmt.Errorf("QR of %d bytes: %w", len(text), err)
	}
	b := &hal.Bitmap{Width: m.GetWidth(), Height: m.GetHeight(), Pix: make([]byte, m.GetWidth()*m.GetHeight())}
	for y := 0; y < b.Height; y++ {
		for x := 0; x < b.Width; x++ {
			if m.Get(x, y) {
				b.Pix[y*b.Width+x] = 1
			}
		}
	}
	return b, nil
}
