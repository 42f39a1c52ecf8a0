package imagescan

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// finderMatrices are thresholded views to hold findFinders to gozxing
// on: every pass's view of the phone screens, the curved sticker and the
// empty counter, blobs and noise; with the blackbox photos when present.
func finderMatrices(t testing.TB) map[string]*gozxing.BitMatrix {
	out := map[string]*gozxing.BitMatrix{}
	frames := map[string]Frame{"empty": emptyFrame(), "sticker": curvedSticker(t, stickerText, 2.5)}
	for _, im := range phoneImages(t) {
		frames["phone/"+im.name] = im.f
	}
	photos, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "photos", "*.png"))
	for _, p := range photos {
		f, err := ReadFrame(p)
		if err != nil {
			t.Fatal(err)
		}
		frames["photo/"+filepath.Base(p)] = f
	}
	if dir := benchdata(); dir != "" {
		for _, im := range loadBlackbox(t, dir) {
			frames[im.set+"/"+im.name] = im.f
		}
	}
	for name, f := range frames {
		d := NewDecoder()
		d.resetFrame(planeOf(f))
		for _, ps := range d.passes {
			if !ps.qr || !d.applies(ps) {
				continue
			}
			bmp := d.bitmap(ps.view, ps.bin)
			if bmp == nil {
				continue
			}
			if m, err := bmp.GetBlackMatrix(); err == nil {
				out[fmt.Sprintf("%s %s", name, ps.why)] = m
			}
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	// codes as the writer draws them, 1 to 5 pixels a module, with a
	// few pixels flipped: many finders, and data beside them
	for n := range 60 {
		text := fmt.Sprintf("https://qr.alipay.com/%0*d", 5+n%40, rng.IntN(1e9))
		side := (25 + 4*(n%5)) * (1 + n%5)
		m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, side, side, nil)
		if err != nil {
			t.Fatal(err)
		}
		for range m.GetWidth() * m.GetHeight() / 30 {
			m.Flip(rng.IntN(m.GetWidth()), rng.IntN(m.GetHeight()))
		}
		out[fmt.Sprintf("written %d", n)] = m
	}
	for n := range 40 {
		w, h := 20+rng.IntN(300), 20+rng.IntN(300)
		m, _ := gozxing.NewBitMatrix(w, h)
		cell := 1 + rng.IntN(6)
		for y := range h {
			for x := range w {
				if (x/cell*7+y/cell*13+rng.IntN(3))%5 < 2 {
					m.Set(x, y)
				}
			}
		}
		out[fmt.Sprintf("random %d", n)] = m
	}
	return out
}

func TestFindFindersMatchesGozxing(t *testing.T) {
	d := NewDecoder()
	found := 0
	for name, m := range finderMatrices(t) {
		gz := detector.NewFinderPatternFinder(m, nil)
		want, errWant := gz.Find(nil)
		got, errGot := d.findFinders(m)
		if (errWant == nil) != (errGot == nil) {
			t.Errorf("%s: gozxing %v, findFinders %v", name, errWant, errGot)
			continue
		}
		if errWant != nil {
			continue
		}
		found++
		for k, pair := range [][2]*detector.FinderPattern{
			{want.GetBottomLeft(), got.GetBottomLeft()},
			{want.GetTopLeft(), got.GetTopLeft()},
			{want.GetTopRight(), got.GetTopRight()},
		} {
			a, b := pair[0], pair[1]
			if a.GetX() != b.GetX() || a.GetY() != b.GetY() || a.GetEstimatedModuleSize() != b.GetEstimatedModuleSize() || a.GetCount() != b.GetCount() {
				t.Errorf("%s: finder %d at (%v,%v) size %v count %d, gozxing (%v,%v) size %v count %d", name, k,
					b.GetX(), b.GetY(), b.GetEstimatedModuleSize(), b.GetCount(), a.GetX(), a.GetY(), a.GetEstimatedModuleSize(), a.GetCount())
			}
		}
	}
	t.Logf("%d matrices with three finders", found)
	if found < 10 {
		t.Errorf("only %d matrices with finders: the test compares too little", found)
	}
}

func TestRowRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 200 {
		w := 1 + rng.IntN(130)
		row := gozxing.NewBitArray(w)
		for x := range w {
			if rng.IntN(4) == 0 != (x/7%2 == 0) {
				row.Set(x)
			}
		}
		runs, firstBlack := rowRuns(row.GetBitArray(), w, nil)
		x, black := 0, firstBlack
		for _, r := range runs {
			for range r {
				if row.Get(x) != black {
					t.Fatalf("width %d: pixel %d is not %v", w, x, black)
				}
				x++
			}
			black = !black
		}
		if x != w {
			t.Fatalf("width %d: runs cover %d", w, x)
		}
	}
}

// BenchmarkFindFinders is the finder on the empty counter's plain view.
func BenchmarkFindFinders(b *testing.B) {
	d := NewDecoder()
	d.resetFrame(planeOf(emptyFrame()))
	m, _ := d.bitmap(view{}, hybrid).GetBlackMatrix()
	b.Run("gozxing", func(b *testing.B) {
		for b.Loop() {
			detector.NewFinderPatternFinder(m, nil).Find(nil)
		}
	})
	b.Run("runs", func(b *testing.B) {
		for b.Loop() {
			d.findFinders(m)
		}
	})
}
