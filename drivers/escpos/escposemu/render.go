package escposemu

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
)

// Render draws a page as paper: white, black dots, one pixel per dot, at
// the printer's full width.
func (pg Page) Render(dots int) *image.Paletted {
	h := max(len(pg.Rows), 1)
	img := image.NewPaletted(image.Rect(0, 0, dots, h), color.Palette{color.White, color.Black})
	for y, row := range pg.Rows {
		for x := 0; x < dots && x/8 < len(row); x++ {
			if row[x/8]&(0x80>>(x%8)) != 0 {
				img.Pix[y*img.Stride+x] = 1
			}
		}
	}
	return img
}

// PNG is the page as a 1-bit PNG.
func (pg Page) PNG(dots int) ([]byte, error) {
	var b bytes.Buffer
	if err := png.Encode(&b, pg.Render(dots)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Dots is the printer's width.
func (e *Emulator) Dots() int { return e.prof.Dots }
