package camera

import (
	"context"
	"errors"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/shoukuan/pos/hal"
)

// codeImage draws a code, scale pixels a module, on a 320×240 grey
// image; dark inverts it (a phone in dark mode). An empty text is a
// blank frame.
func codeImage(t *testing.T, sym hal.Symbology, text string, dark bool) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, 320, 240))
	bg, ink := uint8(230), uint8(20)
	if dark {
		bg, ink = ink, bg
	}
	for i := range img.Pix {
		img.Pix[i] = bg
	}
	if text == "" {
		return img
	}
	var m *gozxing.BitMatrix
	var err error
	scale := 4
	if sym == hal.SymQR {
		m, err = qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 1, 1, nil)
	} else {
		m, err = oned.NewCode128Writer().Encode(text, gozxing.BarcodeFormat_CODE_128, 1, 1, nil)
		scale = 2
	}
	if err != nil {
		t.Fatal(err)
	}
	w, h := m.GetWidth()*scale, m.GetHeight()*scale
	if sym == hal.SymCode128 {
		h = 80
	}
	x0, y0 := (320-w)/2, (240-h)/2
	for y := range h {
		for x := range w {
			if m.Get(x/scale, min(y/scale, m.GetHeight()-1)) {
				img.Pix[(y0+y)*img.Stride+x0+x] = ink
			}
		}
	}
	return img
}

type shot struct {
	sym  hal.Symbology
	text string
	dark bool
}

// frameDir writes the shots as numbered PNG files.
func frameDir(t *testing.T, shots ...shot) string {
	dir := t.TempDir()
	for i, s := range shots {
		f, err := os.Create(filepath.Join(dir, string(rune('a'+i))+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, codeImage(t, s.sym, s.text, s.dark)); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return dir
}

func dirOpener(dir string, opts DirOptions) func() (Source, error) {
	return func() (Source, error) { return OpenDir(dir, opts) }
}

func read(t *testing.T, s *Scanner) (hal.Code, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Read(ctx)
}

func TestDeliversEachCodeOnce(t *testing.T) {
	const a, b = "https://qr.alipay.com/bax03411", "134567890123456789"
	dir := frameDir(t,
		shot{hal.SymQR, a, false},
		shot{hal.SymQR, a, false},
		shot{"", "", false}, // the phone moves: a frame without the code
		shot{hal.SymQR, a, true},
		shot{hal.SymCode128, b, false},
		shot{hal.SymCode128, b, false},
		shot{hal.SymQR, a, false},
	)
	s := New(Options{Open: dirOpener(dir, DirOptions{}), Name: "test"})
	if err := s.Enable(true); err != nil {
		t.Fatal(err)
	}
	for _, want := range []hal.Code{{Symbology: hal.SymQR, Text: a}, {Symbology: hal.SymCode128, Text: b}, {Symbology: hal.SymQR, Text: a}} {
		if c, err := read(t, s); err != nil || c != want {
			t.Fatalf("read %+v %v, want %+v", c, err, want)
		}
	}
	// the directory is played once: the end is a lost camera
	if _, err := read(t, s); !errors.Is(err, hal.ErrDisconnected) || !errors.Is(err, io.EOF) {
		t.Fatalf("after the last frame: %v", err)
	}
	// the next Read opens the source again, from the start
	if c, err := read(t, s); err != nil || c.Text != a {
		t.Fatalf("after reopening: %+v %v", c, err)
	}
	if err := s.Enable(false); err != nil {
		t.Fatal(err)
	}
}

func TestDisarmed(t *testing.T) {
	opened := 0
	dir := frameDir(t, shot{hal.SymQR, "x", false})
	s := New(Options{Open: func() (Source, error) {
		opened++
		return OpenDir(dir, DirOptions{Loop: true, Interval: time.Millisecond})
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("disarmed read: %v", err)
	}
	if opened != 0 {
		t.Fatal("the camera was opened while disarmed")
	}
	// a Read waiting while disarmed gets the code once armed
	got := make(chan hal.Code)
	go func() {
		c, _ := read(t, s)
		got <- c
	}()
	time.Sleep(20 * time.Millisecond)
	s.Enable(true)
	if c := <-got; c.Text != "x" {
		t.Fatalf("%+v", c)
	}
	// disarming drops the code the pump holds; re-arming starts afresh,
	// so the code on the camera is delivered again (a new payment screen)
	time.Sleep(20 * time.Millisecond)
	s.Enable(false)
	s.Enable(true)
	if c, err := read(t, s); err != nil || c.Text != "x" || opened != 2 {
		t.Fatalf("re-armed: %+v %v, opened %d", c, err, opened)
	}
	s.Enable(false)
}

func TestOpenFails(t *testing.T) {
	dir := frameDir(t, shot{hal.SymQR, "late", false})
	ok := false
	s := New(Options{Name: "/dev/video9", Open: func() (Source, error) {
		if !ok {
			return nil, errors.New("no such device")
		}
		return OpenDir(dir, DirOptions{Loop: true})
	}})
	if err := s.Enable(true); err == nil || !strings.Contains(err.Error(), "/dev/video9: no such device") {
		t.Fatalf("enable: %v", err)
	}
	if _, err := read(t, s); err == nil {
		t.Fatal("read without a camera")
	}
	ok = true // plugged in
	if c, err := read(t, s); err != nil || c.Text != "late" {
		t.Fatalf("%+v %v", c, err)
	}
	s.Enable(false)
}

// yuyvSource serves one grey image as YUYV frames with padded rows, as a
// UVC camera does.
type yuyvSource struct {
	f      Frame
	closed bool
}

func newYUYVSource(g *image.Gray) *yuyvSource {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	stride := 2*w + 64
	f := Frame{Width: w, Height: h, Stride: stride, Format: YUYV, Pix: make([]byte, stride*h)}
	for y := range h {
		for x := range w {
			f.Pix[y*stride+2*x] = g.Pix[y*g.Stride+x]
			f.Pix[y*stride+2*x+1] = byte(128 + x%7) // chroma must not leak into Y
		}
	}
	return &yuyvSource{f: f}
}

func (s *yuyvSource) Next(ctx context.Context) (Frame, error) {
	select {
	case <-ctx.Done():
		return Frame{}, ctx.Err()
	case <-time.After(time.Millisecond):
	}
	return s.f, nil
}

func (s *yuyvSource) Close() error { s.closed = true; return nil }

func TestYUYVFrames(t *testing.T) {
	src := newYUYVSource(codeImage(t, hal.SymQR, "yuyv-ok", true))
	y, err := src.f.YPlane(nil)
	if err != nil || y.Format != Grey || y.Stride != 320 || y.Pix[0] != 20 || y.Pix[len(y.Pix)-1] != 20 {
		t.Fatalf("Y plane: %+v %v", y.Format, err)
	}
	s := New(Options{Open: func() (Source, error) { return src, nil }})
	s.Enable(true)
	if c, err := read(t, s); err != nil || c != (hal.Code{Symbology: hal.SymQR, Text: "yuyv-ok"}) {
		t.Fatalf("%+v %v", c, err)
	}
	s.Enable(false)
	if !src.closed {
		t.Fatal("disarming did not close the source")
	}
}

func TestBadFrameStopsThePump(t *testing.T) {
	src := &yuyvSource{f: Frame{Width: 10, Height: 10, Stride: 5, Format: YUYV, Pix: make([]byte, 50)}}
	s := New(Options{Open: func() (Source, error) { return src, nil }})
	s.Enable(true)
	if _, err := read(t, s); err == nil || !strings.Contains(err.Error(), "bad frame") {
		t.Fatalf("%v", err)
	}
	s.Enable(false)
}

func TestDirSource(t *testing.T) {
	if _, err := OpenDir(t.TempDir(), DirOptions{}); err == nil || !strings.Contains(err.Error(), "no PNG or JPEG") {
		t.Fatalf("empty dir: %v", err)
	}
	dir := frameDir(t, shot{hal.SymQR, "1", false})
	os.WriteFile(filepath.Join(dir, "b.jpg"), []byte("not a jpeg"), 0o644)
	if _, err := OpenDir(dir, DirOptions{}); err == nil || !strings.Contains(err.Error(), "b.jpg") {
		t.Fatalf("broken file: %v", err)
	}
	os.Remove(filepath.Join(dir, "b.jpg"))
	src, err := OpenDir(dir, DirOptions{Loop: true, Interval: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for range 3 {
		if _, err := src.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if src.Name() != "a.png" || time.Since(start) < 60*time.Millisecond {
		t.Fatalf("name %q after %v", src.Name(), time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := src.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	src.Close()
	if _, err := src.Next(context.Background()); err == nil {
		t.Fatal("next after close")
	}
}

func TestSelfTest(t *testing.T) {
	dir := frameDir(t, shot{hal.SymCode128, "6901234567892", false})
	s := New(Options{Name: "frames", Open: dirOpener(dir, DirOptions{})})
	r := s.SelfTest(context.Background())
	if !r.OK || r.Detail != "camera frames: 320x240 grey, sees CODE_128" {
		t.Fatalf("%+v", r)
	}
	s = New(Options{Name: "/dev/video7", Open: func() (Source, error) { return nil, errors.New("no such device") }})
	if r := s.SelfTest(context.Background()); r.OK || !strings.Contains(r.Detail, "/dev/video7: no such device") {
		t.Fatalf("%+v", r)
	}
}
