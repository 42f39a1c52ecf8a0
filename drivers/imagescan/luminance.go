package imagescan

import (
	"errors"

	"github.com/makiuchi-d/gozxing"
)

// plane is a grey image with a row stride, read by gozxing in place: it
// implements gozxing.LuminanceSource over the camera's own buffer, so a
// frame is never converted through image.Image (about 5 ms per VGA frame
// on a terminal's CPU).
type plane struct {
	w, h, stride int
	pix          []byte
}

var _ gozxing.LuminanceSource = (*plane)(nil)

// planeOf views a grey frame as a plane. The frame must have passed Check.
func planeOf(f Frame) *plane {
	return &plane{w: f.Width, h: f.Height, stride: f.Stride, pix: f.Pix}
}

// newPlane is a tightly packed plane of w×h, reusing buf when it is big
// enough.
func newPlane(w, h int, buf []byte) *plane {
	if cap(buf) < w*h {
		buf = make([]byte, w*h)
	}
	return &plane{w: w, h: h, stride: w, pix: buf[:w*h]}
}

func (p *plane) row(y int) []byte { return p.pix[y*p.stride : y*p.stride+p.w] }

var errRow = errors.New("imagescan: row outside the image")

func (p *plane) GetRow(y int, row []byte) ([]byte, error) {
	if y < 0 || y >= p.h {
		return nil, errRow
	}
	if len(row) < p.w {
		row = make([]byte, p.w)
	}
	copy(row, p.row(y))
	return row, nil
}

// GetMatrix is the image packed row after row. A packed plane hands out
// its own buffer (gozxing only reads it); a padded one is packed once.
func (p *plane) GetMatrix() []byte {
	if p.stride == p.w {
		return p.pix[:p.w*p.h]
	}
	m := make([]byte, p.w*p.h)
	for y := 0; y < p.h; y++ {
		copy(m[y*p.w:], p.row(y))
	}
	return m
}

func (p *plane) GetWidth() int  { return p.w }
func (p *plane) GetHeight() int { return p.h }

func (p *plane) IsCropSupported() bool { return true }

// Crop is a view on the same bytes.
func (p *plane) Crop(left, top, width, height int) (gozxing.LuminanceSource, error) {
	if left < 0 || top < 0 || width <= 0 || height <= 0 || left+width > p.w || top+height > p.h {
		return nil, errors.New("imagescan: crop outside the image")
	}
	return &plane{w: width, h: height, stride: p.stride, pix: p.pix[top*p.stride+left:]}, nil
}

// IsRotateSupported is true so that the Code 128 reader, with TRY_HARDER,
// also looks for vertical bars.
func (p *plane) IsRotateSupported() bool { return true }

func (p *plane) RotateCounterClockwise() (gozxing.LuminanceSource, error) {
	return p.rotateCCW(nil), nil
}

// rotateCCW turns the plane a quarter counterclockwise: the new row j is
// the old column w-1-j, read top to bottom.
func (p *plane) rotateCCW(buf []byte) *plane {
	r := newPlane(p.h, p.w, buf)
	for y := 0; y < p.h; y++ {
		src := p.row(y)
		for x, v := range src {
			r.pix[(p.w-1-x)*r.stride+y] = v
		}
	}
	return r
}

func (p *plane) RotateCounterClockwise45() (gozxing.LuminanceSource, error) {
	return nil, errors.New("imagescan: 45° rotation not supported")
}

func (p *plane) Invert() gozxing.LuminanceSource { return p.inverted(nil) }

// inverted is the negative: a phone in dark mode shows light modules on a
// dark background, which the binarizers read as a hole, not a code.
func (p *plane) inverted(buf []byte) *plane {
	r := newPlane(p.w, p.h, buf)
	for y := 0; y < p.h; y++ {
		dst := r.pix[y*r.stride : y*r.stride+p.w]
		for x, v := range p.row(y) {
			dst[x] = 255 - v
		}
	}
	return r
}

func (p *plane) String() string { return gozxing.LuminanceSourceString(p) }
