// Command gentestdata writes the payment-code images under testdata/codes:
// what customers show the scanner in the simulator and in scenarios.
// Run from the repository root: go run ./scripts/gentestdata
package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"
)

type code struct {
	file   string
	text   string
	format gozxing.BarcodeFormat
	invert bool // dark mode phone screen
	low    bool // low contrast: grey on lighter grey
}

var codes = []code{
	{file: "alipay-huabei.png", text: "286512345678901234", format: gozxing.BarcodeFormat_QR_CODE},
	{file: "alipay.png", text: "2812345678901234567", format: gozxing.BarcodeFormat_QR_CODE},
	{file: "alipay-barcode.png", text: "2812345678901234567", format: gozxing.BarcodeFormat_CODE_128},
	{file: "alipay-darkmode.png", text: "2599887766554433", format: gozxing.BarcodeFormat_QR_CODE, invert: true},
	{file: "wechat.png", text: "134567890123456789", format: gozxing.BarcodeFormat_QR_CODE},
	{file: "wechat-lowcontrast.png", text: "101122334455667788", format: gozxing.BarcodeFormat_QR_CODE, low: true},
	{file: "unionpay.png", text: "6225123456789012345", format: gozxing.BarcodeFormat_QR_CODE},
	{file: "merchant-static-url.png", text: "https://qr.alipay.com/fkx19283abcd", format: gozxing.BarcodeFormat_QR_CODE},
	{file: "product-barcode.png", text: "6901234567892", format: gozxing.BarcodeFormat_CODE_128},
	{file: "alipay-nofunds.png", text: "2700000000000000001", format: gozxing.BarcodeFormat_QR_CODE},
	{file: "alipay-expired.png", text: "2811111111111111111", format: gozxing.BarcodeFormat_QR_CODE},
}

func main() {
	dir := filepath.Join("testdata", "codes")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fail(err)
	}
	for _, c := range codes {
		if err := write(filepath.Join(dir, c.file), c); err != nil {
			fail(fmt.Errorf("%s: %w", c.file, err))
		}
	}
}

func write(path string, c code) error {
	var w gozxing.Writer
	width, height := 240, 240
	if c.format == gozxing.BarcodeFormat_CODE_128 {
		w = oned.NewCode128Writer()
		width, height = 360, 120
	} else {
		w = qrcode.NewQRCodeWriter()
	}
	m, err := w.Encode(c.text, c.format, width, height, nil)
	if err != nil {
		return err
	}
	dark, light := uint8(0), uint8(255)
	if c.low {
		dark, light = 120, 190
	}
	if c.invert {
		dark, light = 235, 30
	}
	img := image.NewGray(image.Rect(0, 0, m.GetWidth(), m.GetHeight()))
	for y := 0; y < m.GetHeight(); y++ {
		for x := 0; x < m.GetWidth(); x++ {
			v := light
			if m.Get(x, y) {
				v = dark
			}
			img.SetGray(x, y, color.Gray{Y: v})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gentestdata:", err)
	os.Exit(1)
}
