package fbdev

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/shoukuan/pos/hal"
)

const alipay = "https://qr.alipay.com/bax08431hyxxsfwq7p4l0029"

// qrBitmap encodes payload as the application does: one pixel per
// module, no quiet zone, error correction M.
func qrBitmap(t *testing.T, payload string) *hal.Bitmap {
	t.Helper()
	hints := map[gozxing.EncodeHintType]any{
		gozxing.EncodeHintType_ERROR_CORRECTION: "M",
		gozxing.EncodeHintType_MARGIN:           0,
	}
	m, err := qrcode.NewQRCodeWriter().Encode(payload, gozxing.BarcodeFormat_QR_CODE, 0, 0, hints)
	if err != nil {
		t.Fatal(err)
	}
	b := &hal.Bitmap{Width: m.GetWidth(), Height: m.GetHeight(), Pix: make([]byte, m.GetWidth()*m.GetHeight())}
	for y := 0; y < b.Height; y++ {
		for x := 0; x < b.Width; x++ {
			if m.Get(x, y) {
				b.Pix[y*b.Width+x] = 1
			}
		}
	}
	return b
}

func decodeQR(img image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}

// writeScreen fills the grid with a payment screen: a reversed title, an
// amount in the middle and a footer.
func writeScreen(d *Display, footer string) {
	cols, rows := d.Size()
	put := func(y int, s string, a hal.Attr) {
		x := 0
		for _, r := range s {
			d.SetCell(x, y, r, a)
			x += hal.CellWidth(r)
		}
		for ; x < cols; x++ {
			d.SetCell(x, y, ' ', a)
		}
	}
	d.Clear()
	put(0, "收款码 Scan to pay", hal.AttrReverse)
	put(rows/2, "金额 ¥12.34", hal.AttrBold)
	put(rows-1, footer, hal.AttrDim)
}

func sameRegion(t *testing.T, a, b *image.RGBA, r image.Rectangle, what string) {
	t.Helper()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.RGBAAt(x, y) != b.RGBAAt(x, y) {
				t.Errorf("%s changed at (%d,%d)", what, x, y)
				return
			}
		}
	}
}

func TestPictureQR(t *testing.T) {
	f := testFont(t)
	bm := qrBitmap(t, alipay)
	n := bm.Width
	for _, tc := range []struct {
		name       string
		g          Geometry
		o          Options
		s, ox, oy  int
		rows       int
		wantModule int
	}{
		// 160 px between title and footer: (160)/(33+8) = 3 px modules.
		{"RGB565 320x240", Geometry{Width: 320, Height: 240, Format: RGB565}, Options{Cols: 32, Rows: 12}, 1, 32, 24, 12, 3},
		{"XRGB8888 640x480", Geometry{Width: 640, Height: 480, Format: XRGB8888}, Options{Cols: 32, Rows: 12}, 2, 64, 48, 12, 7},
		{"BGR565 dark 40x15", Geometry{Width: 320, Height: 240, Format: BGR565}, Options{Dark: true}, 1, 0, 0, 15, 5},
		{"XBGR8888 padded", Geometry{Width: 480, Height: 272, Stride: 480*4 + 64, Format: XBGR8888, Offset: 4096}, Options{Cols: 40, Rows: 15}, 1, 80, 16, 15, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Font = f
			d, rec := newRecorded(t, tc.g, tc.o)
			g := d.Geometry()
			writeScreen(d, "取消 Cancel")
			if err := d.Flush(); err != nil {
				t.Fatal(err)
			}
			before := decode(rec.mem, g)
			ch := 16 * tc.s
			title := image.Rect(0, 0, g.Width, tc.oy+ch)
			footer := image.Rect(0, tc.oy+(tc.rows-1)*ch, g.Width, g.Height)
			area := image.Rect(0, title.Max.Y, g.Width, footer.Min.Y)

			rec.reset()
			d.ShowPicture(bm)
			if rec.bytes != area.Dy()*g.Stride {
				t.Errorf("ShowPicture wrote %d bytes, want just the band between title and footer, %d", rec.bytes, area.Dy()*g.Stride)
			}
			img := decode(rec.mem, g)
			if got, err := decodeQR(img); err != nil || got != alipay {
				t.Fatalf("QR on screen decodes as %q, %v", got, err)
			}
			sameRegion(t, before, img, title, "title row")
			sameRegion(t, before, img, footer, "footer row")

			// The code is centred at the expected module size: each module
			// is right, and everything else in the band (quiet zone
			// included) is white, in the dark theme too.
			mod := tc.wantModule
			if m := min(area.Dx()/(n+8), area.Dy()/(n+8)); m != mod {
				t.Fatalf("test expects %d px modules, geometry gives %d", mod, m)
			}
			code := image.Rect(0, 0, n*mod, n*mod).Add(image.Pt((area.Dx()-n*mod)/2, area.Min.Y+(area.Dy()-n*mod)/2))
			for my := 0; my < n; my++ {
				for mx := 0; mx < n; mx++ {
					want := cWhite
					if bm.Pix[my*n+mx] != 0 {
						want = cBlack
					}
					r := image.Rect(0, 0, mod, mod).Add(code.Min.Add(image.Pt(mx*mod, my*mod)))
					checkFill(t, img, r, want, "module")
				}
			}
			checkFill(t, img, image.Rect(area.Min.X, area.Min.Y, area.Max.X, code.Min.Y), cWhite, "band above the code")
			checkFill(t, img, image.Rect(area.Min.X, code.Max.Y, area.Max.X, area.Max.Y), cWhite, "band below the code")
			checkFill(t, img, image.Rect(area.Min.X, code.Min.Y, code.Min.X, code.Max.Y), cWhite, "band left of the code")
			checkFill(t, img, image.Rect(code.Max.X, code.Min.Y, area.Max.X, code.Max.Y), cWhite, "band right of the code")
			if code.Min.X < 4*mod || area.Dy() < code.Dy()+8*mod {
				t.Error("no room for a 4-module quiet zone")
			}

			zbarCheck(t, img, alipay)

			// The application redraws its text on every key; the picture
			// stays on top and text under it costs no writes.
			rec.reset()
			writeScreen(d, "取消 Cancel")
			d.SetCell(3, 2, 'X', 0)
			if err := d.Flush(); err != nil || rec.bytes != 0 {
				t.Errorf("text change under the picture wrote %d bytes (%v)", rec.bytes, err)
			}
			writeScreen(d, "剩余 59 秒")
			d.SetCell(3, 2, 'X', 0)
			if err := d.Flush(); err != nil || rec.bytes != ch*g.Stride {
				t.Errorf("footer change wrote %d bytes, want one text row, %d (%v)", rec.bytes, ch*g.Stride, err)
			}
			// The driver keeps its own copy, also for a full repaint.
			clear(bm.Pix)
			if err := d.TestPattern(); err != nil {
				t.Fatal(err)
			}
			if err := d.Flush(); err != nil {
				t.Fatal(err)
			}
			bm = qrBitmap(t, alipay)
			if got, err := decodeQR(decode(rec.mem, g)); err != nil || got != alipay {
				t.Fatalf("after a full repaint the QR decodes as %q, %v", got, err)
			}

			// Removing it shows exactly what a display that never had a
			// picture shows for the same text.
			d.ShowPicture(nil)
			ref, refRec := newRecorded(t, tc.g, tc.o)
			writeScreen(ref, "剩余 59 秒")
			ref.SetCell(3, 2, 'X', 0)
			if err := ref.Flush(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(rec.mem, refRec.mem) {
				t.Error("ShowPicture(nil) did not restore the text")
			}
			if _, err := decodeQR(decode(rec.mem, g)); err == nil {
				t.Error("QR still on screen after ShowPicture(nil)")
			}
		})
	}
}

func TestPictureMalformedIsNone(t *testing.T) {
	d, rec := newRecorded(t, Geometry{Width: 320, Height: 240, Format: RGB565}, Options{Cols: 32, Rows: 12})
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	before := append([]byte(nil), rec.mem...)
	d.ShowPicture(&hal.Bitmap{Width: 10, Height: 10, Pix: make([]byte, 99)})
	d.ShowPicture(&hal.Bitmap{Width: -1, Height: 10})
	d.ShowPicture(nil)
	if !bytes.Equal(before, rec.mem) {
		t.Error("a malformed bitmap changed the screen")
	}
}

// zbarCheck decodes img with zbarimg when it is installed: a second,
// independent reader.
func zbarCheck(t *testing.T, img image.Image, want string) {
	t.Helper()
	bin, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("POS_REQUIRE_ZBAR") == "1" {
			t.Fatal("POS_REQUIRE_ZBAR=1 but zbarimg is not installed")
		}
		t.Log("zbarimg not installed; skipping the zbar decode")
		return
	}
	path := filepath.Join(t.TempDir(), "screen.png")
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-q", "--raw", path).Output()
	if got := strings.TrimRight(string(out), "\r\n"); err != nil || got != want {
		t.Errorf("zbarimg reads %q (%v), want %q", got, err, want)
	}
}
