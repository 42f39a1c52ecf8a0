package escpos_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/draw"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/shoukuan/pos/drivers/escpos"
	"github.com/shoukuan/pos/drivers/escpos/escposemu"
	"github.com/shoukuan/pos/hal"
)

func profile(t testing.TB, name string) escpos.Profile {
	t.Helper()
	p, err := escpos.LookupProfile(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// rig is the real driver on the emulator, in memory.
func rig(t testing.TB, prof string, o escposemu.Options) (*escpos.Printer, *escposemu.Emulator) {
	t.Helper()
	pr := profile(t, prof)
	e := escposemu.New(pr, o)
	p, err := escpos.New(e.Conn(), pr, escpos.Options{SyncTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, e
}

func doc(els ...hal.Element) hal.Document { return hal.Document{Title: "test", Elements: els} }

const payload = "https://qr.alipay.com/bax08431hyxxsfwq7p4l0029"

func decodeQR(t *testing.T, img image.Image) string {
	t.Helper()
	// The page ends at the code's last row; paper has a quiet zone.
	b := img.Bounds()
	padded := image.NewGray(image.Rect(0, 0, b.Dx()+80, b.Dy()+80))
	for i := range padded.Pix {
		padded.Pix[i] = 0xff
	}
	draw.Draw(padded, b.Add(image.Pt(40, 40)), img, b.Min, draw.Src)
	bmp, err := gozxing.NewBinaryBitmapFromImage(padded)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("printed QR does not decode: %v", err)
	}
	return res.GetText()
}

// A receipt's text, Chinese included, reaches the paper as the layout put
// it, in both QR modes, and the QR decodes off the paper.
func TestPrintTextAndQR(t *testing.T) {
	for _, prof := range []string{"58mm", "58mm-raster", "80mm"} {
		t.Run(prof, func(t *testing.T) {
			p, e := rig(t, prof, escposemu.Options{})
			err := p.Print(context.Background(), doc(
				hal.Element{Kind: hal.KindText, Text: "签购单", Style: hal.TextStyle{Size: hal.SizeDouble, Bold: true, Align: hal.AlignCenter}},
				hal.Pair("金额(AMOUNT):", "RMB 12.34"),
				hal.Element{Kind: hal.KindSeparator},
				hal.Element{Kind: hal.KindQR, Text: payload},
				hal.Element{Kind: hal.KindCut},
			))
			if err != nil {
				t.Fatal(err)
			}
			pages := e.Pages()
			if len(pages) != 1 {
				t.Fatalf("%d pages", len(pages))
			}
			text := strings.Join(pages[0].Lines, "\n")
			cols := p.Columns()
			for _, want := range []string{"签购单", "金额(AMOUNT):" + strings.Repeat(" ", cols-13-9) + "RMB 12.34", strings.Repeat("-", cols)} {
				if !strings.Contains(text, want) {
					t.Errorf("paper lacks %q:\n%s", want, text)
				}
			}
			if got := decodeQR(t, pages[0].Render(e.Dots())); got != payload {
				t.Fatalf("QR says %q", got)
			}
			if u := e.Unknown(); len(u) != 0 {
				t.Fatalf("the driver sent commands the printer does not know: %v", u)
			}
		})
	}
}

// A character outside the printer's font is printed from Unifont as an
// image, in the same place it would have had as text.
func TestRareCharacterAsRaster(t *testing.T) {
	p, e := rig(t, "58mm-raster", escposemu.Options{})
	// 镕 is in GBK, not GB2312: text on the GBK printer, a raster here.
	if err := p.Print(context.Background(), doc(hal.Text("朱镕基"))); err != nil {
		t.Fatal(err)
	}
	q, qe := rig(t, "58mm", escposemu.Options{})
	if err := q.Print(context.Background(), doc(hal.Text("朱镕基"))); err != nil {
		t.Fatal(err)
	}
	a, b := e.Pages()[0], qe.Pages()[0]
	if a.Lines[0] != "[image]" || b.Lines[0] != "朱镕基" {
		t.Fatalf("lines %q and %q", a.Lines, b.Lines)
	}
	if len(a.Rows) != len(b.Rows) {
		t.Fatalf("raster line %d rows, text line %d", len(a.Rows), len(b.Rows))
	}
	for y := range a.Rows {
		if !bytes.Equal(a.Rows[y], b.Rows[y]) {
			t.Fatalf("row %d differs between the raster and the text line", y)
		}
	}
}

// Out of paper before a job: nothing is sent, and the error says so.
func TestPaperOutBeforeJob(t *testing.T) {
	p, e := rig(t, "58mm", escposemu.Options{PaperRows: 10})
	_ = p.Print(context.Background(), doc(hal.Text("one line uses the paper up")))
	before := e.Received()
	err := p.Print(context.Background(), doc(hal.Text("second")))
	if !errors.Is(err, hal.ErrNoPaper) {
		t.Fatalf("err %v", err)
	}
	if sent := e.Received() - before; sent > 3*4 {
		t.Fatalf("%d bytes sent to a printer without paper (only status requests may be)", sent)
	}
	if st := p.Status(); !st.PaperOut || st.Ready() {
		t.Fatalf("status %+v", st)
	}
}

// Paper out in the middle: the job is reported as not printed, with how far
// it got; after the paper is loaded the reprint comes out whole.
func TestPaperOutMidJobThenReprint(t *testing.T) {
	p, e := rig(t, "58mm", escposemu.Options{PaperRows: 400})
	var els []hal.Element
	for i := 0; i < 40; i++ {
		els = append(els, hal.Text(strings.Repeat("行", 10)+" line"))
	}
	els = append(els, hal.Element{Kind: hal.KindCut})
	err := p.Print(context.Background(), doc(els...))
	var je *escpos.JobError
	if !errors.Is(err, hal.ErrNoPaper) || !errors.As(err, &je) || je.Printed == 0 || je.Printed >= je.Parts {
		t.Fatalf("err %v", err)
	}
	e.LoadPaper(0)
	if err := p.Print(context.Background(), doc(els...)); err != nil {
		t.Fatal(err)
	}
	pages := e.Pages()
	last := pages[len(pages)-1]
	n := 0
	for _, l := range last.Lines {
		if strings.HasSuffix(l, " line") {
			n++
		}
	}
	if n != 40 {
		t.Fatalf("reprint has %d of 40 lines: %q", n, last.Lines)
	}
}

// A cover opened: typed error; closed again, it prints.
func TestCoverOpen(t *testing.T) {
	p, e := rig(t, "80mm", escposemu.Options{})
	e.SetCoverOpen(true)
	err := p.Print(context.Background(), doc(hal.Text("x")))
	if !errors.Is(err, hal.ErrCoverOpen) {
		t.Fatalf("err %v", err)
	}
	if st := p.SelfTest(context.Background()); st.OK || !strings.Contains(st.Detail, "cover") {
		t.Fatalf("self-test %+v", st)
	}
	e.SetCoverOpen(false)
	if err := p.Print(context.Background(), doc(hal.Text("x"))); err != nil {
		t.Fatal(err)
	}
	if st := p.SelfTest(context.Background()); !st.OK {
		t.Fatalf("self-test %+v", st)
	}
}

// A printer that does not answer is reported offline, not as printed.
func TestNoPrinter(t *testing.T) {
	pr := profile(t, "58mm")
	p, err := escpos.New(&silent{}, pr, escpos.Options{StatusTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Print(context.Background(), doc(hal.Text("x"))); !errors.Is(err, hal.ErrDisconnected) {
		t.Fatalf("err %v", err)
	}
	if st := p.Status(); st.Online {
		t.Fatalf("status %+v", st)
	}
}

type silent struct{ closed chan struct{} }

func (s *silent) Write(b []byte) (int, error) { return len(b), nil }
func (s *silent) Read(b []byte) (int, error) {
	time.Sleep(20 * time.Millisecond)
	return 0, nil
}
func (s *silent) Close() error { return nil }

// Invalid documents fail before a byte is sent.
func TestInvalidDocument(t *testing.T) {
	p, e := rig(t, "58mm", escposemu.Options{})
	for _, d := range []hal.Document{
		doc(hal.Element{Kind: hal.KindQR}),
		doc(hal.Element{Kind: hal.KindQR, Text: strings.Repeat("x", 2000)}),
		doc(hal.Element{Kind: hal.KindImage, Image: &hal.Bitmap{Width: 2, Height: 2, Pix: []byte{1}}}),
		doc(hal.Element{Kind: 99}),
	} {
		if err := p.Print(context.Background(), d); err == nil {
			t.Errorf("%+v printed", d.Elements[0])
		}
	}
	if e.Received() != 0 {
		t.Fatalf("%d bytes sent for invalid documents", e.Received())
	}
}
