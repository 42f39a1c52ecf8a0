package escpos

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/shoukuan/pos/drivers/glyph"
	"github.com/shoukuan/pos/drivers/paper"
	"github.com/shoukuan/pos/hal"
)

// The commands the driver sends (Epson ESC/POS, as Chinese printers
// implement it).
var (
	cmdInit       = []byte{0x1b, '@'}
	cmdKanjiOn    = []byte{0x1c, '&'} // FS &: bytes from 0x81 up are GB pairs
	cmdBoldOn     = []byte{0x1b, 'E', 1}
	cmdBoldOff    = []byte{0x1b, 'E', 0}
	cmdSizeDouble = []byte{0x1d, '!', 0x11} // GS !: double width and height
	cmdSizeNormal = []byte{0x1d, '!', 0x00}
	cmdAlignLeft  = []byte{0x1b, 'a', 0}
	cmdAlignMid   = []byte{0x1b, 'a', 1}
	// cmdPaperSync is GS r 1: answered in turn, after everything before it
	// has printed, unlike DLE EOT. It tells the driver what is on paper.
	cmdPaperSync = []byte{0x1d, 'r', 1}
)

// minModuleDots is the smallest QR module that scans off thermal paper.
const minModuleDots = 4

// chunk is a piece of a job the driver sends before asking whether it
// printed: a line, or a band of an image.
type chunk struct {
	data []byte
	what string // for the error when the paper runs out here
}

type encoder struct {
	p    Profile
	font *glyph.Font
	gbk  interface{ Bytes([]byte) ([]byte, error) }
}

func newEncoder(p Profile, font *glyph.Font) *encoder {
	return &encoder{p: p, font: font, gbk: simplifiedchinese.GBK.NewEncoder()}
}

// encode turns a document into chunks. It fails, before anything is sent,
// on what no printer could print.
func (e *encoder) encode(doc hal.Document) ([]chunk, error) {
	cols := e.p.Columns()
	head := append(append([]byte{}, cmdInit...), cmdAlignLeft...)
	if e.p.Charset != "ascii" {
		head = append(head, cmdKanjiOn...)
	}
	out := []chunk{{data: head, what: "start"}}
	for i, el := range doc.Elements {
		cs, err := e.element(el, cols)
		if err != nil {
			return nil, fmt.Errorf("invalid document %q: element %d: %w", doc.Title, i, err)
		}
		out = append(out, cs...)
	}
	return out, nil
}

func (e *encoder) element(el hal.Element, cols int) ([]chunk, error) {
	switch el.Kind {
	case hal.KindText:
		if el.Style.Size > hal.SizeDouble || el.Style.Align > hal.AlignRight {
			return nil, fmt.Errorf("unknown text style %+v", el.Style)
		}
	case hal.KindQR:
		return e.qr(el.Text)
	case hal.KindImage:
		return e.image(el.Image)
	case hal.KindSeparator, hal.KindFeed:
	case hal.KindCut:
		return []chunk{e.cut()}, nil
	default:
		return nil, fmt.Errorf("unknown element kind %d", el.Kind)
	}
	var out []chunk
	for _, l := range paper.Element(el, cols) {
		out = append(out, e.line(l))
	}
	return out, nil
}

// line prints one laid-out line: as text when the printer's font has every
// character, otherwise as a raster drawn with Unifont in the same cells, so
// a rare character is printed rather than turned into garbage.
func (e *encoder) line(l paper.Line) chunk {
	var b bytes.Buffer
	at := 0 // column reached, in normal-size columns
	for _, s := range l.Segs {
		if s.Text == "" {
			continue
		}
		for ; at < s.Col; at++ {
			b.WriteByte(' ')
		}
		if l.Scale == 2 {
			b.Write(cmdSizeDouble)
		}
		if l.Bold {
			b.Write(cmdBoldOn)
		}
		for _, r := range s.Text {
			enc, ok := e.inFont(r)
			if !ok {
				return e.rasterLine(l)
			}
			b.Write(enc)
			at += l.Scale * hal.CellWidth(r)
		}
		if l.Bold {
			b.Write(cmdBoldOff)
		}
		if l.Scale == 2 {
			b.Write(cmdSizeNormal)
		}
	}
	b.WriteByte('\n')
	return chunk{data: b.Bytes(), what: fmt.Sprintf("line %q", l.Text())}
}

// inFont encodes r as the printer's font has it, or reports that it has not.
func (e *encoder) inFont(r rune) ([]byte, bool) {
	if r >= 0x20 && r < 0x7f {
		return []byte{byte(r)}, true
	}
	// A printer's double-byte font prints every character 24 dots wide: a
	// rune the layout counts narrow (é, ·) would shift the columns.
	if e.p.Charset == "ascii" || hal.CellWidth(r) != 2 {
		return nil, false
	}
	enc, err := e.gbk.Bytes([]byte(string(r)))
	if err != nil || len(enc) != 2 || enc[0] < 0x81 { // x/text maps € to one byte 0x80
		return nil, false
	}
	if e.p.Charset == "gb2312" && (enc[0] < 0xa1 || enc[0] > 0xf7 || enc[1] < 0xa1 || enc[1] == 0xff) {
		return nil, false
	}
	return enc, true
}

// rasterLine draws a line as the printer would print it in Font A: each
// narrow cell 12x24 dots holding an 8x16 glyph, each wide cell 24x24, 30
// rows to the line (double size: twice all of it, and 48 rows).
func (e *encoder) rasterLine(l paper.Line) chunk {
	rows := LineRows
	if l.Scale == 2 {
		rows = 2 * CharRows
	}
	bm := &hal.Bitmap{Width: e.p.Dots, Height: rows, Pix: make([]byte, e.p.Dots*rows)}
	for _, s := range l.Segs {
		x := s.Col * CellDots
		for _, r := range s.Text {
			cw := hal.CellWidth(r)
			if cw == 0 {
				continue
			}
			DrawGlyph(e.font, r, cw, l.Scale, l.Scale, l.Bold, func(dx, dy int) {
				if px := x + dx; px >= 0 && px < bm.Width && dy < bm.Height {
					bm.Pix[dy*bm.Width+px] = 1
				}
			})
			x += cw * CellDots * l.Scale
		}
	}
	return chunk{data: rasterCmd(bm, 0, bm.Height), what: fmt.Sprintf("line %q (as an image)", l.Text())}
}

// DrawGlyph inks r as a printer prints it in Font A, cells columns wide,
// magnified sw times across and sh times down, calling dot for each inked
// dot relative to the cell's top left.
// The emulator draws text with it too, so a line sent as text and the same
// line sent as a raster come out alike.
func DrawGlyph(font *glyph.Font, r rune, cells, sw, sh int, bold bool, dot func(x, y int)) {
	bm, gw, ok := font.Glyph(r)
	if !ok {
		gw = 8 * cells
		bm = glyph.Box(gw)
	}
	stride := gw / 8
	squeeze := gw > 8*cells // a wide glyph for a rune counted narrow
	drawn := gw
	if squeeze {
		drawn = gw / 2
	}
	ox := (cells*CellDots - drawn) / 2
	oy := (CharRows - glyph.Height) / 2
	for gy := 0; gy < glyph.Height; gy++ {
		row := bm[gy*stride : (gy+1)*stride]
		for gx := 0; gx < drawn; gx++ {
			on := glyph.Bit(row, gx)
			if squeeze {
				on = glyph.Bit(row, 2*gx) || glyph.Bit(row, 2*gx+1)
			}
			if !on {
				continue
			}
			for sy := 0; sy < sh; sy++ {
				for sx := 0; sx < sw; sx++ {
					px, py := (ox+gx)*sw+sx, (oy+gy)*sh+sy
					dot(px, py)
					if bold {
						dot(px+1, py)
					}
				}
			}
		}
	}
}

// qrMatrix encodes a payload as printers and phones expect: error
// correction M, UTF-8 for non-ASCII text, no quiet zone (the paper is).
func qrMatrix(text string) (*gozxing.BitMatrix, error) {
	if text == "" {
		return nil, errors.New("QR code with empty text")
	}
	hints := map[gozxing.EncodeHintType]any{
		gozxing.EncodeHintType_ERROR_CORRECTION: "M",
		gozxing.EncodeHintType_MARGIN:           0,
	}
	if !isASCII(text) {
		hints[gozxing.EncodeHintType_CHARACTER_SET] = "UTF-8"
	}
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 0, 0, hints)
	if err != nil {
		return nil, fmt.Errorf("QR text of %d bytes cannot be encoded: %w", len(text), err)
	}
	return m, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// moduleDots sizes a QR code to about two thirds of the paper.
func (e *encoder) moduleDots(modules int) (int, error) {
	n := min(e.p.Dots*2/3/modules, 16)
	if n < minModuleDots {
		return 0, fmt.Errorf("QR code of %d modules does not fit %d dots at %d dots per module", modules, e.p.Dots, minModuleDots)
	}
	return n, nil
}

func (e *encoder) qr(text string) ([]chunk, error) {
	m, err := qrMatrix(text)
	if err != nil {
		return nil, err
	}
	n, err := e.moduleDots(m.GetWidth())
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("QR code of %d bytes", len(text))
	if e.p.NativeQR {
		if len(text)+3 > 0xffff {
			return nil, fmt.Errorf("QR text of %d bytes too long", len(text))
		}
		var b bytes.Buffer
		b.Write(cmdAlignMid)
		b.Write([]byte{0x1d, '(', 'k', 4, 0, '1', 'A', '2', 0})  // model 2
		b.Write([]byte{0x1d, '(', 'k', 3, 0, '1', 'C', byte(n)}) // module size
		b.Write([]byte{0x1d, '(', 'k', 3, 0, '1', 'E', '1'})     // error correction M
		store := len(text) + 3
		b.Write([]byte{0x1d, '(', 'k', byte(store), byte(store >> 8), '1', 'P', '0'})
		b.WriteString(text)
		b.Write([]byte{0x1d, '(', 'k', 3, 0, '1', 'Q', '0'}) // print
		b.Write(cmdAlignLeft)
		return []chunk{{data: b.Bytes(), what: what}}, nil
	}
	size := m.GetWidth() * n
	bm := &hal.Bitmap{Width: e.p.Dots, Height: size, Pix: make([]byte, e.p.Dots*size)}
	x0 := (e.p.Dots - size) / 2
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			if m.Get(x/n, y/n) {
				bm.Pix[y*bm.Width+x0+x] = 1
			}
		}
	}
	return e.bands(bm, what), nil
}

// image prints a bitmap centred, shrunk by a whole factor when wider than
// the paper (a dot inked when any pixel under it is: thin strokes stay).
func (e *encoder) image(b *hal.Bitmap) ([]chunk, error) {
	switch {
	case b == nil:
		return nil, errors.New("image without a bitmap")
	case b.Width <= 0 || b.Height <= 0 || b.Width > 1<<16 || b.Height > 1<<16:
		return nil, fmt.Errorf("image size %dx%d out of range", b.Width, b.Height)
	case len(b.Pix) != b.Width*b.Height:
		return nil, fmt.Errorf("image %dx%d has %d pixels, want %d", b.Width, b.Height, len(b.Pix), b.Width*b.Height)
	}
	k := (b.Width + e.p.Dots - 1) / e.p.Dots
	dw, dh := (b.Width+k-1)/k, (b.Height+k-1)/k
	out := &hal.Bitmap{Width: e.p.Dots, Height: dh, Pix: make([]byte, e.p.Dots*dh)}
	x0 := (e.p.Dots - dw) / 2
	for y := 0; y < b.Height; y++ {
		for x := 0; x < b.Width; x++ {
			if b.Pix[y*b.Width+x] != 0 {
				out.Pix[(y/k)*out.Width+x0+x/k] = 1
			}
		}
	}
	return e.bands(out, fmt.Sprintf("image %dx%d", b.Width, b.Height)), nil
}

// bands cuts a full-width bitmap into GS v 0 commands of BandRows rows.
func (e *encoder) bands(bm *hal.Bitmap, what string) []chunk {
	var out []chunk
	for y := 0; y < bm.Height; y += e.p.BandRows {
		h := min(e.p.BandRows, bm.Height-y)
		out = append(out, chunk{data: rasterCmd(bm, y, h), what: fmt.Sprintf("%s, rows %d-%d", what, y, y+h)})
	}
	return out
}

// rasterCmd is GS v 0 for rows y..y+h of bm, whose width is a multiple of 8.
func rasterCmd(bm *hal.Bitmap, y, h int) []byte {
	xb := bm.Width / 8
	b := make([]byte, 0, 8+xb*h)
	b = append(b, 0x1d, 'v', '0', 0, byte(xb), byte(xb>>8), byte(h), byte(h>>8))
	for r := y; r < y+h; r++ {
		row := bm.Pix[r*bm.Width : (r+1)*bm.Width]
		for i := 0; i < xb; i++ {
			var v byte
			for bit := 0; bit < 8; bit++ {
				if row[i*8+bit] != 0 {
					v |= 0x80 >> bit
				}
			}
			b = append(b, v)
		}
	}
	return b
}

// cut feeds the last line past the tear bar, and cuts where there is a
// cutter (GS V 66 n: feed n lines, then cut).
func (e *encoder) cut() chunk {
	n := byte(e.p.FeedLines)
	switch e.p.Cutter {
	case "partial":
		return chunk{data: []byte{0x1d, 'V', 66, n}, what: "cut"}
	case "full":
		return chunk{data: []byte{0x1d, 'V', 65, n}, what: "cut"}
	}
	return chunk{data: []byte{0x1b, 'd', n}, what: "feed to the tear bar"}
}
