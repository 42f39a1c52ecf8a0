package fbdev

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"io"
	"time"

	"github.com/shoukuan/pos/hal"
)

// barColours are the test pattern's bars, left to right, with the label
// each carries: a panel with red and blue swapped shows 红 on blue.
var barColours = []struct {
	c     rgb
	label string
}{
	{white, ""}, {rgb{0xff, 0xff, 0}, ""}, {rgb{0, 0xff, 0xff}, ""}, {rgb{0, 0xff, 0}, "G绿"},
	{rgb{0xff, 0, 0xff}, ""}, {rgb{0xff, 0, 0}, "R红"}, {rgb{0, 0, 0xff}, "B蓝"}, {black, ""},
}

// patternSample is the Chinese the pattern shows: wide glyphs with dense
// strokes, where a stuck column or a wrong stride is easy to see.
const patternSample = "中文显示测试 收款¥0.01"

// TestPattern shows colour bars, a grey ramp, a pixel grid, a red border
// on the outermost pixels and a line of Chinese, so that a technician
// sees dead pixels, a wrong colour order and a misplaced window. The
// pattern stays until the next Flush or ShowPicture, which repaint the
// whole screen as it was.
func (d *Display) TestPattern() error {
	_, err := d.testPattern()
	return err
}

// testPattern draws and writes the pattern and reports whether reading
// the target back matched (false when the target cannot be read).
func (d *Display) testPattern() (verified bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return false, ErrClosed
	}
	d.drawPattern()
	err = d.writeDirty()
	if err == nil {
		verified, err = d.readBack()
	}
	d.redrawAll()
	return verified, err
}

// readBack compares the visible pixels of the target with the shadow,
// which catches a mapping or file that does not hold what was written.
func (d *Display) readBack() (bool, error) {
	ra, ok := d.dst.(io.ReaderAt)
	if !ok {
		return false, nil
	}
	n := d.g.Width * d.bpp
	buf := make([]byte, n)
	for y := 0; y < d.g.Height; y++ {
		off := y * d.g.Stride
		if _, err := ra.ReadAt(buf, d.g.Offset+int64(off)); err != nil {
			return false, fmt.Errorf("fbdev: %s: reading back row %d: %w", d.name, y, err)
		}
		if !bytes.Equal(buf, d.shadow[off:off+n]) {
			return false, fmt.Errorf("fbdev: %s: row %d reads back different from what was written", d.name, y)
		}
	}
	return true, nil
}

func (d *Display) drawPattern() {
	W, H := d.g.Width, d.g.Height
	barsH := H / 2
	for i, b := range barColours {
		x0, x1 := i*W/len(barColours), (i+1)*W/len(barColours)
		d.fill(image.Rect(x0, 0, x1, barsH), d.g.Format.pack(b.c))
		if b.label != "" {
			ink := d.pal.white
			if b.c.g != 0 {
				ink = d.pal.black
			}
			w := hal.StringWidth(b.label) * d.cw
			d.drawString((x0+x1-w)/2, d.ch/2, b.label, ink)
		}
	}
	// A 32-step grey ramp: missing steps show lost colour bits.
	rampY := barsH + H/8
	for i := 0; i < 32; i++ {
		v := uint8(i * 255 / 31)
		d.fill(image.Rect(i*W/32, barsH, (i+1)*W/32, rampY), d.g.Format.pack(rgb{v, v, v}))
	}
	d.fill(image.Rect(0, rampY, W, H), d.pal.white)
	for x := 0; x < W; x += 16 {
		d.fill(image.Rect(x, rampY, x+1, H), d.pal.black)
	}
	for y := rampY; y < H; y += 16 {
		d.fill(image.Rect(0, y, W, y+1), d.pal.black)
	}
	lines := []string{patternSample, fmt.Sprintf("%dx%d %s", W, H, d.g.Format)}
	y := rampY + (H-rampY-len(lines)*d.ch)/2
	for _, s := range lines {
		w := min(hal.StringWidth(s)*d.cw, W)
		x := (W - w) / 2
		d.fill(image.Rect(x, y, x+w, y+d.ch), d.pal.white)
		d.drawString(x, y, s, d.pal.black)
		y += d.ch
	}
	red := d.g.Format.pack(rgb{0xff, 0, 0})
	for _, r := range []image.Rectangle{
		image.Rect(0, 0, W, 1), image.Rect(0, H-1, W, H),
		image.Rect(0, 0, 1, H), image.Rect(W-1, 0, W, H),
	} {
		d.fill(r, red)
	}
}

// drawString inks s from pixel (x, y) without painting a background,
// stopping at the right edge of the screen.
func (d *Display) drawString(x, y int, s string, ink []byte) {
	for _, r := range s {
		cw := hal.CellWidth(r)
		if cw == 0 {
			continue
		}
		if x+cw*d.cw > d.g.Width {
			return
		}
		d.drawGlyph(x, y, cw, r, ink, false)
		x += cw * d.cw
	}
}

// SelfTest shows the test pattern for Options.PatternHold (or until ctx
// ends), restores the screen and reports the resolution, depth and pixel
// format. It fails when the framebuffer cannot be written or read back,
// or when Unifont is missing (Chinese would show as boxes).
func (d *Display) SelfTest(ctx context.Context) hal.SelfTestResult {
	start := time.Now()
	res := hal.SelfTestResult{Device: "display"}
	d.mu.Lock()
	g, name := d.g, d.name
	detail := fmt.Sprintf("%s: %dx%d %d bpp %s, stride %d, %dx%d cells at %dx",
		name, g.Width, g.Height, g.Format.BitsPerPixel, g.Format, g.Stride, d.cols, d.rows, d.scale)
	fontErr := d.fontErr
	d.mu.Unlock()

	verified, err := d.testPattern()
	if err == nil {
		select {
		case <-ctx.Done():
		case <-time.After(d.hold):
		}
		d.mu.Lock()
		if d.closed {
			err = ErrClosed
		} else {
			err = d.writeDirty() // the shadow already holds the screen again
		}
		d.mu.Unlock()
	}
	switch {
	case err != nil:
		res.Detail = detail + "; " + err.Error()
	case fontErr != nil:
		res.Detail = detail + "; no Unifont, Chinese shows as boxes: " + fontErr.Error()
	default:
		res.OK = true
		res.Detail = detail
		if verified {
			res.Detail += "; pattern read back"
		}
	}
	res.Took = time.Since(start)
	return res
}
