package hal

import "image"

// Document is a device-independent print job: a receipt, a slip, a report.
// Drivers lay it out for their paper width and character set.
type Document struct {
	Title    string // what the job is ("sale receipt, merchant copy"), for logs
	Elements []Element
}

// Element is one block of a document. Exactly one kind is set.
type Element struct {
	Kind ElementKind
	Text string // KindText; KindQR payload
	// Right, when set on a KindText element, is printed flush right on the
	// same line as Text (label ..... value), wrapping Text if needed.
	Right string
	Style TextStyle
	Image *Bitmap // KindImage
}

// ElementKind says what an Element is.
type ElementKind uint8

const (
	KindText      ElementKind = iota // a line of text, wrapped to the paper width
	KindQR                           // a QR code of Text
	KindImage                        // a 1-bit raster (logo, signature)
	KindSeparator                    // a full-width rule
	KindFeed                         // a blank line
	KindCut                          // feed and cut (or tear-off point)
)

// TextStyle is the look of a text element.
type TextStyle struct {
	Size  TextSize
	Bold  bool
	Align Align
}

// TextSize is the character size; Double is double width and height.
type TextSize uint8

const (
	SizeNormal TextSize = iota
	SizeDouble
)

// Align is horizontal alignment.
type Align uint8

const (
	AlignLeft Align = iota
	AlignCenter
	AlignRight
)

// Bitmap is a 1-bit image, row-major, one byte per pixel (0 white, 1 black).
type Bitmap struct {
	Width, Height int
	Pix           []byte
}

// Gray renders the bitmap as a picture: scale pixels per dot, a white
// margin of margin dots around it (a QR code's quiet zone).
func (b *Bitmap) Gray(scale, margin int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, (b.Width+2*margin)*scale, (b.Height+2*margin)*scale))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y := 0; y < b.Height; y++ {
		for x := 0; x < b.Width; x++ {
			if b.Pix[y*b.Width+x] == 0 {
				continue
			}
			for dy := 0; dy < scale; dy++ {
				row := img.Pix[((y+margin)*scale+dy)*img.Stride:]
				for dx := 0; dx < scale; dx++ {
					row[(x+margin)*scale+dx] = 0
				}
			}
		}
	}
	return img
}

// PrinterStatus is what a printer reports before and after a job.
type PrinterStatus struct {
	PaperOut   bool
	PaperLow   bool
	CoverOpen  bool
	Overheated bool
	Online     bool
}

// Ready reports whether a job can print now.
func (s PrinterStatus) Ready() bool {
	return s.Online && !s.PaperOut && !s.CoverOpen && !s.Overheated
}

// Text is a convenience for a plain text element.
func Text(s string) Element { return Element{Kind: KindText, Text: s} }

// Pair is a label on the left and a value on the right of one line.
func Pair(label, value string) Element {
	return Element{Kind: KindText, Text: label, Right: value}
}
