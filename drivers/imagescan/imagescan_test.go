package imagescan

import (
	"errors"
	"image"
	"image/color"
	"path/filepath"
	"testing"

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
