package fake

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/shoukuan/pos/drivers/glyph"
	"github.com/shoukuan/pos/drivers/paper"
	"github.com/shoukuan/pos/hal"
)

func prtDoc(title string, els ...hal.Element) hal.Document {
	return hal.Document{Title: title, Elements: els}
}

func prtCheckLines(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		var b strings.Builder
		for i := 0; i < max(len(got), len(want)); i++ {
			var g, w string
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			mark := " "
			if g != w {
				mark = "!"
			}
			fmt.Fprintf(&b, "%s got  %q\n  want %q\n", mark, g, w)
		}
		t.Fatalf("layout differs:\n%s", b.String())
	}
}

func TestPrinterPaperOutThenReprint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	p := NewPrinter(PrinterOptions{Dir: dir})
	changes := 0
	p.OnChange(func() { changes++; _ = p.Roll() }) // may call back into the printer
	doc := prtDoc("Sale", hal.Text("消费 SALE"), hal.Pair("AMOUNT", "RMB 1.00"))

	p.SetPaperOut(true)
	if st := p.Status(); !st.PaperOut || !st.Online || st.Ready() {
		t.Fatalf("status with paper out: %+v", st)
	}
	err := p.Print(context.Background(), doc)
	if !errors.Is(err, hal.ErrNoPaper) {
		t.Fatalf("Print with paper out: %v, want ErrNoPaper", err)
	}
	if len(p.Roll()) != 0 || len(p.Jobs()) != 0 {
		t.Fatalf("paper out recorded something: %q", p.Roll())
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("paper out wrote files: %v", err)
	}

	p.SetPaperOut(false)
	if err := p.Print(context.Background(), doc); err != nil {
		t.Fatal(err)
	}
	prtCheckLines(t, p.Roll(), paper.Layout(doc, 32))
	if jobs := p.Jobs(); len(jobs) != 1 || filepath.Base(jobs[0].TextPath) != "000001-sale.txt" {
		t.Fatalf("jobs after reprint: %+v", jobs)
	}
	if changes != 3 { // out, in, job
		t.Fatalf("OnChange ran %d times, want 3", changes)
	}
	p.SetPaperOut(false) // no change, no call
	if changes != 3 {
		t.Fatalf("OnChange ran for a non-change")
	}
}

func TestPrinterWritesFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "receipts")
	p := NewPrinter(PrinterOptions{Dir: dir, FontPath: filepath.Join(dir, "no-such-font.hex")})
	ctx := context.Background()
	first := prtDoc("Sale Receipt / Merchant Copy!", hal.Text("签购单"), hal.Pair("AMOUNT", "RMB 12.34"))
	second := prtDoc("签购单", hal.Element{Kind: hal.KindSeparator})
	long := prtDoc("  A very, very long title that goes on and on beyond forty characters ", hal.Text("x"))
	for _, d := range []hal.Document{first, second, long} {
		if err := p.Print(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	names := []string{
		"000001-sale-receipt-merchant-copy",
		"000002-job",
		"000003-a-very-very-long-title-that-goes-on-and",
	}
	jobs := p.Jobs()
	for i, d := range []hal.Document{first, second, long} {
		txt := filepath.Join(dir, names[i]+".txt")
		if jobs[i].TextPath != txt || jobs[i].PNGPath != filepath.Join(dir, names[i]+".png") || jobs[i].Title != d.Title {
			t.Fatalf("job %d: %+v, want %s", i, jobs[i], names[i])
		}
		data, err := os.ReadFile(txt)
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.Join(paper.Layout(d, 32), "\n") + "\n"; string(data) != want {
			t.Fatalf("%s: %q, want %q", txt, data, want)
		}
		f, err := os.Open(jobs[i].PNGPath)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", jobs[i].PNGPath, err)
		}
		if w := img.Bounds().Dx(); w != 32*8+2*pngMarginPx {
			t.Fatalf("PNG width %d", w)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 6 {
		t.Fatalf("dir holds %d entries (temp files left?): %v", len(entries), entries)
	}

	// A new printer on the same directory (a restarted simulator) numbers on.
	q := NewPrinter(PrinterOptions{Dir: dir, FontPath: "/nonexistent"})
	if err := q.Print(ctx, first); err != nil {
		t.Fatal(err)
	}
	if got := filepath.Base(q.Jobs()[0].TextPath); got != "000004-sale-receipt-merchant-copy.txt" {
		t.Fatalf("restarted numbering: %s", got)
	}
	// Without a Dir nothing is written but the roll is kept.
	r := NewPrinter(PrinterOptions{})
	if err := r.Print(ctx, first); err != nil || r.Jobs()[0].TextPath != "" || len(r.Roll()) != 2 {
		t.Fatalf("no-dir printer: %v %+v", err, r.Jobs())
	}
}

func TestPrinterSaveFailure(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(blocker, "receipts") // cannot exist: its parent is a file
	p := NewPrinter(PrinterOptions{Dir: dir})
	doc := prtDoc("sale", hal.Text("SALE"))
	err := p.Print(context.Background(), doc)
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Print to unwritable dir: %v", err)
	}
	if got := p.Roll(); !slices.Equal(got, []string{"SALE"}) {
		t.Fatalf("the paper printed anyway; roll %q", got)
	}
	st := p.SelfTest(context.Background())
	if st.OK || st.Device != "printer" || !strings.Contains(st.Detail, dir) {
		t.Fatalf("self-test with unwritable dir: %+v", st)
	}
}

func TestPrinterSelfTest(t *testing.T) {
	ctx := context.Background()
	p := NewPrinter(PrinterOptions{Dir: t.TempDir(), FontPath: "/nonexistent/unifont.hex"})
	st := p.SelfTest(ctx)
	if !st.OK || st.Device != "printer" || !strings.Contains(st.Detail, "font missing") {
		t.Fatalf("self-test with missing font: %+v", st)
	}
	p.SetPaperOut(true)
	if st := p.SelfTest(ctx); st.OK || !strings.Contains(st.Detail, "paper") {
		t.Fatalf("self-test with paper out: %+v", st)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if st := NewPrinter(PrinterOptions{}).SelfTest(cctx); st.OK {
		t.Fatalf("self-test with cancelled ctx passed: %+v", st)
	}
}

func TestPrinterInvalidDocuments(t *testing.T) {
	cases := map[string]hal.Element{
		"unknown kind":      {Kind: hal.ElementKind(42)},
		"nil image":         {Kind: hal.KindImage},
		"short image":       {Kind: hal.KindImage, Image: &hal.Bitmap{Width: 4, Height: 4, Pix: make([]byte, 15)}},
		"zero image":        {Kind: hal.KindImage, Image: &hal.Bitmap{}},
		"empty QR":          {Kind: hal.KindQR},
		"QR beyond paper":   {Kind: hal.KindQR, Text: strings.Repeat("x", 500)},
		"QR beyond any QR":  {Kind: hal.KindQR, Text: strings.Repeat("x", 5000)},
		"unknown size":      {Kind: hal.KindText, Text: "x", Style: hal.TextStyle{Size: 9}},
		"unknown alignment": {Kind: hal.KindText, Text: "x", Style: hal.TextStyle{Align: 9}},
	}
	dir := t.TempDir()
	p := NewPrinter(PrinterOptions{Dir: dir})
	for name, bad := range cases {
		err := p.Print(context.Background(), prtDoc(name, hal.Text("before"), bad))
		if err == nil || !strings.Contains(err.Error(), "element 1") || errors.Is(err, hal.ErrNoPaper) {
			t.Errorf("%s: %v", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(p.Roll()) != 0 || len(entries) != 0 {
		t.Fatalf("invalid documents printed: %q, %d files", p.Roll(), len(entries))
	}
}

func TestPrinterCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := NewPrinter(PrinterOptions{})
	if err := p.Print(ctx, prtDoc("x", hal.Text("x"))); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Print: %v", err)
	}
	if len(p.Roll()) != 0 {
		t.Fatal("cancelled job printed")
	}
}

func TestPrinterConcurrentPrints(t *testing.T) {
	dir := t.TempDir()
	p := NewPrinter(PrinterOptions{Dir: dir})
	var calls sync.WaitGroup
	var mu sync.Mutex
	changes := 0
	p.OnChange(func() { mu.Lock(); changes++; mu.Unlock() })
	const workers, each = 6, 4
	for w := 0; w < workers; w++ {
		calls.Add(1)
		go func() {
			defer calls.Done()
			for i := 0; i < each; i++ {
				doc := prtDoc(fmt.Sprintf("w%d job %d", w, i),
					hal.Text(fmt.Sprintf("worker %d 第%d张", w, i)),
					hal.Pair("AMOUNT", fmt.Sprintf("RMB %d.00", i)),
					hal.Element{Kind: hal.KindQR, Text: fmt.Sprintf("https://pay.example/%d/%d", w, i)})
				if err := p.Print(context.Background(), doc); err != nil {
					t.Error(err)
				}
				_ = p.Status()
				_ = p.Jobs()
			}
		}()
	}
	calls.Add(1)
	go func() { // readers and paper handling run alongside
		defer calls.Done()
		for i := 0; i < 50; i++ {
			_ = p.Roll()
			p.SetPaperOut(false)
		}
	}()
	calls.Wait()

	jobs := p.Jobs()
	if len(jobs) != workers*each || changes != workers*each {
		t.Fatalf("%d jobs, %d changes, want %d", len(jobs), changes, workers*each)
	}
	var roll []string
	for i, j := range jobs {
		roll = append(roll, j.Lines...)
		if want := fmt.Sprintf("%06d-", i+1); !strings.HasPrefix(filepath.Base(j.TextPath), want) {
			t.Fatalf("job %d saved as %s", i, j.TextPath)
		}
	}
	prtCheckLines(t, p.Roll(), roll)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2*workers*each {
		t.Fatalf("%d files", len(entries))
	}
}

// prtDecodeQR reads the QR code in region r of img as a scanner would.
func prtDecodeQR(t *testing.T, img image.Image, r image.Rectangle) string {
	t.Helper()
	sub := img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(r)
	bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(gozxing.NewLuminanceSourceFromImage(sub)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("decoding QR in %v: %v", r, err)
	}
	return res.GetText()
}

func TestPNGQRDecodesToPayload(t *testing.T) {
	for _, payload := range []string{
		"https://qr.95516.com/00010000/62202405011234567890123456789012",
		"银联二维码 PAY-0001",
		"0",
	} {
		doc := prtDoc("qr", hal.Text("扫码付款 SCAN TO PAY"), hal.Element{Kind: hal.KindQR, Text: payload}, hal.Text("END"))
		img, qrs := pngRender(doc, 32, nil)
		if len(qrs) != 1 {
			t.Fatalf("%q: %d QR regions", payload, len(qrs))
		}
		r := qrs[0]
		if r.Min.X < 0 || r.Max.X > img.Bounds().Dx() || r.Dx() != r.Dy() || r.Min.X+r.Max.X != img.Bounds().Dx() && r.Min.X+r.Max.X != img.Bounds().Dx()-1 {
			t.Fatalf("%q: QR region %v not centred in %v", payload, r, img.Bounds())
		}
		if got := prtDecodeQR(t, img, r); got != payload {
			t.Fatalf("QR decodes to %q, want %q", got, payload)
		}
	}

	// And through Print, from the saved file.
	dir := t.TempDir()
	p := NewPrinter(PrinterOptions{Dir: dir})
	doc := prtDoc("qr", hal.Text("扫码"), hal.Element{Kind: hal.KindQR, Text: "https://pay.example/abc"})
	if err := p.Print(context.Background(), doc); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p.Jobs()[0].PNGPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	_, qrs := pngRender(doc, 32, p.loadFont())
	if got := prtDecodeQR(t, img, qrs[0]); got != "https://pay.example/abc" {
		t.Fatalf("saved PNG QR decodes to %q", got)
	}
}

// prtInk lists which dots of region r are black, as a string of 0 and 1.
func prtInk(img *image.Paletted, r image.Rectangle) (string, int) {
	var b strings.Builder
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if img.ColorIndexAt(x, y) == 1 {
				b.WriteByte('1')
				n++
			} else {
				b.WriteByte('0')
			}
		}
	}
	return b.String(), n
}

func TestPNGUnifontGlyphs(t *testing.T) {
	if _, err := os.Stat(glyph.DefaultPath); err != nil {
		t.Skipf("no Unifont at %s", glyph.DefaultPath)
	}
	font, err := glyph.Load(glyph.DefaultPath)
	if err != nil {
		t.Fatal(err)
	}
	cell := image.Rect(pngMarginPx, pngMarginPx, pngMarginPx+16, pngMarginPx+16)
	zhong := RenderPNG(prtDoc("", hal.Text("中")), 32, font)
	wen := RenderPNG(prtDoc("", hal.Text("文")), 32, font)
	a, na := prtInk(zhong, cell)
	b, nb := prtInk(wen, cell)
	if na < 20 || nb < 20 || a == b {
		t.Fatalf("中 %d dots, 文 %d dots, identical %v", na, nb, a == b)
	}
	// The cell holds exactly Unifont's bitmap and nothing is drawn outside it.
	bm, w, ok := font.Glyph('中')
	if !ok || w != 16 {
		t.Fatalf("Glyph(中) = %d wide, ok %v", w, ok)
	}
	var want strings.Builder
	for y := 0; y < 16; y++ {
		for x := 0; x < 16; x++ {
			if glyph.Bit(bm[y*2:y*2+2], x) {
				want.WriteByte('1')
			} else {
				want.WriteByte('0')
			}
		}
	}
	if a != want.String() {
		t.Fatal("rendered 中 differs from the Unifont glyph")
	}
	if _, all := prtInk(zhong, zhong.Bounds()); all != na {
		t.Fatalf("%d dots outside the glyph cell", all-na)
	}

	// Bold thickens; double size covers four times the area.
	bold := RenderPNG(prtDoc("", hal.Element{Kind: hal.KindText, Text: "中", Style: hal.TextStyle{Bold: true}}), 32, font)
	if _, n := prtInk(bold, bold.Bounds()); n <= na {
		t.Fatalf("bold 中 has %d dots, plain %d", n, na)
	}
	dbl := RenderPNG(prtDoc("", hal.Element{Kind: hal.KindText, Text: "中", Style: hal.TextStyle{Size: hal.SizeDouble}}), 32, font)
	if _, n := prtInk(dbl, dbl.Bounds()); n != 4*na {
		t.Fatalf("double 中 has %d dots, want %d", n, 4*na)
	}
}

func TestPNGDoubleRightAlignedReachesEdge(t *testing.T) {
	e := hal.Element{Kind: hal.KindText, Text: "RMB 12.34", Style: hal.TextStyle{Size: hal.SizeDouble, Align: hal.AlignRight}}
	img := RenderPNG(prtDoc("", e), 32, nil)
	right := pngMarginPx + 32*pngCellPx
	minX, maxX := img.Bounds().Dx(), -1
	for y := 0; y < img.Bounds().Dy(); y++ {
		for x := 0; x < img.Bounds().Dx(); x++ {
			if img.ColorIndexAt(x, y) == 1 {
				minX, maxX = min(minX, x), max(maxX, x)
			}
		}
	}
	if minX < right-9*16 || maxX < right-16 || maxX >= right {
		t.Fatalf("double right text inked from x=%d to %d; paper text ends at %d", minX, maxX, right)
	}
	if img.Bounds().Dy() != 2*pngMarginPx+32+pngLeadPx {
		t.Fatalf("double line height: image %v", img.Bounds())
	}
}

func TestPNGBuiltinFontFallback(t *testing.T) {
	img := RenderPNG(prtDoc("", hal.Text("A中")), 32, nil)
	x0, y0 := pngMarginPx, pngMarginPx
	a, n := prtInk(img, image.Rect(x0, y0, x0+8, y0+16))
	if n == 0 {
		t.Fatal("built-in A not drawn")
	}
	bm, _, _ := (*glyph.Font)(nil).Glyph('A')
	var want strings.Builder
	for _, row := range bm {
		for x := 0; x < 8; x++ {
			want.WriteByte("01"[row>>(7-x)&1])
		}
	}
	if a != want.String() {
		t.Fatal("A differs from the built-in glyph")
	}
	// 中 has no built-in glyph: a hollow box over its two columns.
	bx := x0 + 8
	if img.ColorIndexAt(bx+1, y0+1) != 1 || img.ColorIndexAt(bx+14, y0+14) != 1 || img.ColorIndexAt(bx+8, y0+8) != 0 {
		t.Fatal("missing glyph is not a hollow box")
	}
	for r := rune(0x20); r <= 0x7e; r++ {
		if _, w, ok := (*glyph.Font)(nil).Glyph(r); !ok || w != 8 {
			t.Fatalf("built-in font lacks %q", r)
		}
	}
}

func TestPNGImages(t *testing.T) {
	logo := &hal.Bitmap{Width: 4, Height: 2, Pix: []byte{1, 1, 1, 1, 1, 0, 0, 1}}
	img := RenderPNG(prtDoc("", hal.Element{Kind: hal.KindImage, Image: logo}), 32, nil)
	w := img.Bounds().Dx()
	x0 := (w - 4) / 2
	if got, _ := prtInk(img, image.Rect(x0, pngMarginPx, x0+4, pngMarginPx+2)); got != "11111001" {
		t.Fatalf("image dots %s", got)
	}
	// Wider than the paper: shrunk by a whole factor, a full-black bar
	// stays a bar within the print area.
	wide := &hal.Bitmap{Width: 600, Height: 10, Pix: slices.Repeat([]byte{1}, 6000)}
	img = RenderPNG(prtDoc("", hal.Element{Kind: hal.KindImage, Image: wide}), 32, nil)
	_, n := prtInk(img, img.Bounds())
	if n != 200*4 {
		t.Fatalf("600x10 bar shrunk to %d dots, want 800", n)
	}
	if _, in := prtInk(img, image.Rect(pngMarginPx, 0, w-pngMarginPx, img.Bounds().Dy())); in != n {
		t.Fatal("shrunk image spills into the margin")
	}
}

// A printer whose font is broken still prints, in the built-in font.
func TestPrinterBrokenFont(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.hex")
	if err := os.WriteFile(bad, []byte("not a font\n0041:XYZ\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := NewPrinter(PrinterOptions{Dir: dir, FontPath: bad})
	if err := p.Print(context.Background(), prtDoc("x", hal.Text("ok 中"))); err != nil {
		t.Fatal(err)
	}
	if st := p.SelfTest(context.Background()); !st.OK || !strings.Contains(st.Detail, "no valid glyph") {
		t.Fatalf("self-test with broken font: %+v", st)
	}
}
