package imagescan

import (
	"errors"
	"fmt"
	"image"
)

// Format is the pixel layout of a camera frame.
type Format int

const (
	// Grey is one luminance byte per pixel (V4L2 GREY, or a converted image).
	Grey Format = iota
	// YUYV is packed 4:2:2, Y0 U Y1 V: two bytes per pixel, the luminance
	// at even offsets (V4L2 YUYV, the format nearly every UVC camera offers).
	YUYV
)

func (f Format) String() string {
	switch f {
	case Grey:
		return "grey"
	case YUYV:
		return "yuyv"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// BytesPerPixel is the size of one pixel in Pix; 0 for an unknown format.
func (f Format) BytesPerPixel() int {
	switch f {
	case Grey:
		return 1
	case YUYV:
		return 2
	}
	return 0
}

// MaxSide bounds a frame's width and height. A camera never comes close;
// the bound keeps a corrupt header or fuzzed input from asking for
// gigabytes of scratch memory.
const MaxSide = 8192

// Frame is one camera image. Rows start Stride bytes apart in Pix; only
// the first Width*BytesPerPixel bytes of a row are pixels (drivers pad
// rows to an alignment).
type Frame struct {
	Width, Height, Stride int
	Format                Format
	Pix                   []byte
}

// ErrBadFrame means a frame's dimensions do not fit its buffer or format.
var ErrBadFrame = errors.New("bad frame")

// Check reports whether the frame's geometry is consistent.
func (f Frame) Check() error {
	bpp := f.Format.BytesPerPixel()
	switch {
	case bpp == 0:
		return fmt.Errorf("%w: unknown format %v", ErrBadFrame, f.Format)
	case f.Width <= 0 || f.Height <= 0 || f.Width > MaxSide || f.Height > MaxSide:
		return fmt.Errorf("%w: %dx%d (want 1-%d each side)", ErrBadFrame, f.Width, f.Height, MaxSide)
	case f.Format == YUYV && f.Width%2 != 0:
		return fmt.Errorf("%w: YUYV width %d is odd", ErrBadFrame, f.Width)
	case f.Stride < f.Width*bpp:
		return fmt.Errorf("%w: stride %d < %d bytes per row", ErrBadFrame, f.Stride, f.Width*bpp)
	case len(f.Pix) < (f.Height-1)*f.Stride+f.Width*bpp:
		return fmt.Errorf("%w: %d bytes for %dx%d stride %d", ErrBadFrame, len(f.Pix), f.Width, f.Height, f.Stride)
	}
	return nil
}

// YPlane is the frame's luminance plane. A grey frame is returned as is,
// without copying; a YUYV frame's Y bytes are gathered into buf (grown if
// short) as a tightly packed plane.
func (f Frame) YPlane(buf []byte) (Frame, error) {
	if err := f.Check(); err != nil {
		return Frame{}, err
	}
	if f.Format == Grey {
		return f, nil
	}
	n := f.Width * f.Height
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	for y := 0; y < f.Height; y++ {
		src := f.Pix[y*f.Stride : y*f.Stride+2*f.Width]
		dst := buf[y*f.Width : (y+1)*f.Width]
		for x := range dst {
			dst[x] = src[2*x]
		}
	}
	return Frame{Width: f.Width, Height: f.Height, Stride: f.Width, Format: Grey, Pix: buf}, nil
}

// GreyFrame converts a decoded image to a grey frame once, so that image
// files go through the same luminance pipeline as camera frames. Grey and
// JPEG (YCbCr) images share their luminance bytes without a copy. Other
// images use the luminance gozxing itself uses, (R+2G+B)/4, with
// transparent pixels composed over white as on a screen.
func GreyFrame(img image.Image) Frame {
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	switch m := img.(type) {
	case *image.Gray:
		return Frame{Width: w, Height: h, Stride: m.Stride, Format: Grey, Pix: m.Pix[m.PixOffset(r.Min.X, r.Min.Y):]}
	case *image.YCbCr:
		return Frame{Width: w, Height: h, Stride: m.YStride, Format: Grey, Pix: m.Y[m.YOffset(r.Min.X, r.Min.Y):]}
	}
	pix := make([]byte, w*h)
	switch m := img.(type) {
	case *image.Paletted:
		var lut [256]byte
		for i, c := range m.Palette {
			lut[i] = lum(c.RGBA())
		}
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(r.Min.X, r.Min.Y+y):]
			for x := 0; x < w; x++ {
				pix[y*w+x] = lut[row[x]]
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(r.Min.X, r.Min.Y+y):]
			for x := 0; x < w; x++ {
				p := row[4*x : 4*x+4 : 4*x+4]
				l := (uint32(p[0]) + 2*uint32(p[1]) + uint32(p[2])) / 4
				a := uint32(p[3])
				pix[y*w+x] = byte((l*a + 255*(255-a)) / 255)
			}
		}
	case *image.RGBA: // premultiplied: adding the missing white is enough
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(r.Min.X, r.Min.Y+y):]
			for x := 0; x < w; x++ {
				p := row[4*x : 4*x+4 : 4*x+4]
				l := (uint32(p[0]) + 2*uint32(p[1]) + uint32(p[2])) / 4
				pix[y*w+x] = byte(l + 255 - uint32(p[3]))
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				pix[y*w+x] = lum(img.At(r.Min.X+x, r.Min.Y+y).RGBA())
			}
		}
	}
	return Frame{Width: w, Height: h, Stride: w, Format: Grey, Pix: pix}
}

// lum is (R+2G+B)/4 of premultiplied 16-bit colour, composed over white.
func lum(r, g, b, a uint32) byte {
	l := (r + 2*g + b) / 4
	return byte((l + 0xffff - a) >> 8)
}
