package fbdev

import (
	"bytes"
	"context"
	"image/color"
	"strings"
	"testing"
	"time"
)

func TestPatternBarsAndRestore(t *testing.T) {
	f := testFont(t)
	for _, format := range []Format{RGB565, BGR565, XRGB8888, XBGR8888} {
		t.Run(format.String(), func(t *testing.T) {
			g := Geometry{Width: 320, Height: 240, Format: format}
			d, rec := newRecorded(t, g, Options{Cols: 32, Rows: 12, Font: f})
			writeScreen(d, "footer")
			if err := d.Flush(); err != nil {
				t.Fatal(err)
			}
			before := append([]byte(nil), rec.mem...)
			if err := d.TestPattern(); err != nil {
				t.Fatal(err)
			}
			img := decode(rec.mem, g)
			// Bars are 40 px wide; sample low in each, clear of labels.
			for i, want := range []color.RGBA{
				cWhite, {0xff, 0xff, 0, 0xff}, {0, 0xff, 0xff, 0xff}, {0, 0xff, 0, 0xff},
				{0xff, 0, 0xff, 0xff}, {0xff, 0, 0, 0xff}, {0, 0, 0xff, 0xff}, cBlack,
			} {
				if got := img.RGBAAt(i*40+20, 100); got != want {
					t.Errorf("bar %d is %v, want %v", i, got, want)
				}
			}
			if got := img.RGBAAt(0, 200); got != (color.RGBA{0xff, 0, 0, 0xff}) {
				t.Errorf("border pixel %v, want red", got)
			}
			// The grey ramp climbs.
			if a, b := img.RGBAAt(5, 130), img.RGBAAt(315, 130); a != cBlack || b != cWhite {
				t.Errorf("ramp ends %v %v", a, b)
			}
			rec.reset()
			if err := d.Flush(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, rec.mem) || rec.bytes != 240*320*format.BitsPerPixel/8 {
				t.Errorf("Flush after the pattern did not repaint the screen (%d bytes)", rec.bytes)
			}
		})
	}
}

func TestSelfTest(t *testing.T) {
	f := testFont(t)
	g := Geometry{Width: 320, Height: 240, Format: RGB565}
	mem := make(Memory, 320*240*2)
	d, err := New(mem, g, Options{Cols: 32, Rows: 12, Font: f, PatternHold: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	writeScreen(d, "footer")
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	before := append([]byte(nil), mem...)
	res := d.SelfTest(context.Background())
	if !res.OK || res.Skipped || res.Device != "display" {
		t.Fatalf("%+v", res)
	}
	for _, want := range []string{"320x240", "16 bpp", "RGB565", "32x12 cells at 1x", "read back"} {
		if !strings.Contains(res.Detail, want) {
			t.Errorf("detail %q lacks %q", res.Detail, want)
		}
	}
	if !bytes.Equal(before, mem) {
		t.Error("SelfTest did not restore the screen")
	}
	d.Close()
	if res := d.SelfTest(context.Background()); res.OK {
		t.Error("SelfTest passed on a closed display")
	}
}
