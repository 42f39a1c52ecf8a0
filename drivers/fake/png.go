package fake

import (
	"image"
	"image/color"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/shoukuan/pos/drivers/glyph"
	"github.com/shoukuan/pos/drivers/paper"
	"github.com/shoukuan/pos/hal"
)

// Raster geometry. A column is 8 dots, as Unifont's narrow glyphs are, so
// 32 columns print 256 dots (a real 58 mm head has 384 dots but uses 12-dot
// fonts: the text width on paper is the same). The image adds a white
// margin all round so that it looks like a strip of paper and the QR quiet
// zone can reach into it.
const (
	pngCellPx   = 8 // dots per column at normal size
	pngLeadPx   = 2 // blank dots under each text line
	pngMarginPx = 8 // white paper around the print area
	pngMinModPx = 4 // smallest QR module that scans reliably off thermal paper
	pngMaxDim   = 1 << 16
)

// pngPalette is thermal paper: index 0 white paper, index 1 black dot, so
// a fresh image is blank paper and PNG stores 1 bit per pixel.
var pngPalette = color.Palette{color.White, color.Black}

// RenderPNG rasterises doc as a thermal printer would print it on paper
// cols characters wide (cols as in Layout): the image is cols*8 + 16 dots
// wide, text uses font (nil: the built-in ASCII font; a rune without a
// glyph prints as a hollow box), double size doubles both directions, bold
// strikes each glyph twice one dot apart, QR codes print as scannable codes
// (error correction M, at least 4 dots per module) and images print
// centred, shrunk by a whole factor when wider than the paper. QR codes
// and images are always centred whatever their Style says. An element Print
// would reject prints as its Layout text.
func RenderPNG(doc hal.Document, cols int, font *glyph.Font) *image.Paletted {
	img, _ := pngRender(doc, cols, font)
	return img
}

// pngBlock is a horizontal band of the receipt.
type pngBlock struct {
	height int
	qr     image.Rectangle // where a QR code lands, relative to the band
	draw   func(img *image.Paletted, y int)
}

// pngRender is RenderPNG that also says where each QR code is (for tests).
func pngRender(doc hal.Document, cols int, font *glyph.Font) (*image.Paletted, []image.Rectangle) {
	cols = paper.Cols(cols)
	width := cols*pngCellPx + 2*pngMarginPx
	var blocks []pngBlock
	for _, e := range doc.Elements {
		blocks = append(blocks, pngElement(e, cols, width, font)...)
	}
	height := 2 * pngMarginPx
	for _, b := range blocks {
		height += b.height
	}
	img := image.NewPaletted(image.Rect(0, 0, width, height), pngPalette)
	var qrs []image.Rectangle
	y := pngMarginPx
	for _, b := range blocks {
		b.draw(img, y)
		if !b.qr.Empty() {
			qrs = append(qrs, b.qr.Add(image.Pt(0, y)))
		}
		y += b.height
	}
	return img, qrs
}

func pngElement(e hal.Element, cols, width int, font *glyph.Font) []pngBlock {
	switch e.Kind {
	case hal.KindQR:
		if m, err := pngQR(e.Text); err == nil {
			if mod, ok := pngModulePx(m.GetWidth(), cols); ok {
				return []pngBlock{pngQRBlock(m, mod, width)}
			}
		}
	case hal.KindImage:
		if pngBitmapOK(e.Image) {
			return []pngBlock{pngImageBlock(e.Image, cols, width)}
		}
	}
	var out []pngBlock
	for _, l := range paper.Element(e, cols) {
		out = append(out, pngTextBlock(l, font))
	}
	return out
}

func pngTextBlock(l paper.Line, font *glyph.Font) pngBlock {
	return pngBlock{
		height: l.Scale*glyph.Height + pngLeadPx,
		draw: func(img *image.Paletted, y int) {
			for _, s := range l.Segs {
				x := pngMarginPx + s.Col*pngCellPx
				for _, r := range s.Text {
					cw := hal.CellWidth(r)
					if cw == 0 {
						continue // combining marks and the like: not drawn
					}
					pngGlyph(img, font, r, x, y, cw, l.Scale, l.Bold)
					x += cw * pngCellPx * l.Scale
				}
			}
		},
	}
}

// pngGlyph draws r into a box cells columns wide at (x, y).
func pngGlyph(img *image.Paletted, font *glyph.Font, r rune, x, y, cells, scale int, bold bool) {
	box := cells * pngCellPx
	bm, gw, ok := font.Glyph(r)
	if !ok {
		bm, gw = glyph.Box(box), box
	}
	stride := gw / 8
	squeeze := gw > box // a wide glyph for a rune hal counts as narrow
	drawn := gw
	if squeeze {
		drawn = gw / 2
	}
	ox := (box - drawn) / 2 * scale // a narrow glyph in a wide box is centred
	for gy := 0; gy < glyph.Height; gy++ {
		row := bm[gy*stride : (gy+1)*stride]
		for dx := 0; dx < drawn; dx++ {
			var on bool
			if squeeze {
				on = glyph.Bit(row, 2*dx) || glyph.Bit(row, 2*dx+1)
			} else {
				on = glyph.Bit(row, dx)
			}
			if !on {
				continue
			}
			px, py := x+ox+dx*scale, y+gy*scale
			pngFill(img, px, py, scale, scale)
			if bold {
				pngFill(img, px+1, py, scale, scale)
			}
		}
	}
}

// pngFill inks a w x h rectangle, clipped to the image.
func pngFill(img *image.Paletted, x, y, w, h int) {
	r := image.Rect(x, y, x+w, y+h).Intersect(img.Rect)
	for py := r.Min.Y; py < r.Max.Y; py++ {
		i := img.PixOffset(r.Min.X, py)
		for px := r.Min.X; px < r.Max.X; px, i = px+1, i+1 {
			img.Pix[i] = 1
		}
	}
}

// pngQR encodes payload with error correction M and the standard 4-module
// quiet zone, one matrix cell per module. Non-ASCII payloads carry a UTF-8
// ECI so that scanners do not guess another charset.
func pngQR(payload string) (*gozxing.BitMatrix, error) {
	hints := map[gozxing.EncodeHintType]any{
		gozxing.EncodeHintType_ERROR_CORRECTION: decoder.ErrorCorrectionLevel_M,
	}
	for i := 0; i < len(payload); i++ {
		if payload[i] >= 0x80 {
			hints[gozxing.EncodeHintType_CHARACTER_SET] = "UTF-8"
			break
		}
	}
	return qrcode.NewQRCodeWriter().Encode(payload, gozxing.BarcodeFormat_QR_CODE, 0, 0, hints)
}

// pngModulePx picks the dots per module for a QR code size modules across
// (quiet zone included): about two thirds of the print width, never below
// pngMinModPx. ok is false when even that does not fit the paper.
func pngModulePx(size, cols int) (int, bool) {
	paper := cols*pngCellPx + 2*pngMarginPx
	if size <= 0 || size*pngMinModPx > paper {
		return 0, false
	}
	m := max(cols*pngCellPx*2/3/size, pngMinModPx)
	return m, true
}

func pngQRBlock(m *gozxing.BitMatrix, mod, width int) pngBlock {
	size := m.GetWidth()
	x0 := (width - size*mod) / 2
	return pngBlock{
		height: size * mod,
		qr:     image.Rect(x0, 0, x0+size*mod, size*mod),
		draw: func(img *image.Paletted, y int) {
			for my := 0; my < size; my++ {
				for mx := 0; mx < size; mx++ {
					if m.Get(mx, my) {
						pngFill(img, x0+mx*mod, y+my*mod, mod, mod)
					}
				}
			}
		},
	}
}

func pngBitmapOK(b *hal.Bitmap) bool {
	return b != nil && b.Width > 0 && b.Height > 0 && b.Width <= pngMaxDim &&
		b.Height <= pngMaxDim && len(b.Pix) == b.Width*b.Height
}

// pngImageBlock prints b centred. A bitmap wider than the print area is
// shrunk by the smallest whole factor that fits, a dot inked when any
// source pixel under it is, so that thin signature strokes survive.
func pngImageBlock(b *hal.Bitmap, cols, width int) pngBlock {
	area := cols * pngCellPx
	k := (b.Width + area - 1) / area
	dw, dh := (b.Width+k-1)/k, (b.Height+k-1)/k
	x0 := (width - dw) / 2
	return pngBlock{
		height: dh + pngLeadPx,
		draw: func(img *image.Paletted, y int) {
			for sy := 0; sy < b.Height; sy++ {
				row := b.Pix[sy*b.Width : (sy+1)*b.Width]
				for sx, v := range row {
					if v != 0 {
						pngFill(img, x0+sx/k, y+sy/k, 1, 1)
					}
				}
			}
		},
	}
}
