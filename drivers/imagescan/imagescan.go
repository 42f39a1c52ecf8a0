// Package imagescan decodes payment codes from still images: the decode
// pipeline of the camera scanner, also used by the fake scanner so that the
// simulator reads codes the way a terminal does.
//
// Only QR and Code 128 are tried: other 1D readers produce false reads on
// dense QR codes, and those two cover every Chinese payment code.
package imagescan

import (
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // technicians save camera frames as JPEG
	_ "image/png"
	"os"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/shoukuan/pos/hal"
)

// ErrNoCode means the image holds no readable QR or Code 128 symbol.
var ErrNoCode = errors.New("no QR or Code 128 found")

// Decoder tries QR, then Code 128, on the image and on its inverse (phone
// screens in dark mode show light modules on dark).
type Decoder struct {
	qr     gozxing.Reader
	c128   gozxing.Reader
	hints  map[gozxing.DecodeHintType]any
	hard1D map[gozxing.DecodeHintType]any
}

func NewDecoder() *Decoder {
	return &Decoder{
		qr:     qrcode.NewQRCodeReader(),
		c128:   oned.NewCode128Reader(),
		hints:  map[gozxing.DecodeHintType]any{},
		hard1D: map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true},
	}
}

// Decode reads one code from img.
func (d *Decoder) Decode(img image.Image) (hal.Code, error) {
	src := gozxing.NewLuminanceSourceFromImage(img)
	for _, s := range []gozxing.LuminanceSource{src, gozxing.NewInvertedLuminanceSource(src)} {
		if c, err := d.decodeSource(s); err == nil {
			return c, nil
		}
	}
	return hal.Code{}, ErrNoCode
}

func (d *Decoder) decodeSource(src gozxing.LuminanceSource) (hal.Code, error) {
	bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src))
	if err != nil {
		return hal.Code{}, err
	}
	if r, err := d.qr.Decode(bmp, d.hints); err == nil {
		return hal.Code{Symbology: hal.SymQR, Text: r.GetText()}, nil
	}
	if r, err := d.c128.Decode(bmp, d.hard1D); err == nil {
		return hal.Code{Symbology: hal.SymCode128, Text: r.GetText()}, nil
	}
	return hal.Code{}, ErrNoCode
}

// DecodeFile reads an image file (PNG or JPEG) and decodes it.
func (d *Decoder) DecodeFile(path string) (hal.Code, error) {
	f, err := os.Open(path)
	if err != nil {
		return hal.Code{}, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return hal.Code{}, fmt.Errorf("%s: not a PNG or JPEG image: %w", path, err)
	}
	c, err := d.Decode(img)
	if err != nil {
		return hal.Code{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}
