package imagescan

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"

	"github.com/shoukuan/pos/hal"
)

// TestCode128Table holds the symbol table to gozxing's writer: every
// value, drawn by the writer as a data symbol or a check character.
func TestCode128Table(t *testing.T) {
	pats := patternsFromWriter(t)
	for v := range c128Widths {
		if !slices.Equal(c128Modules(v), pats[v]) {
			t.Errorf("symbol %d: %v, the writer draws %v", v, c128Modules(v), pats[v])
		}
		b := c128Bars[v]
		for i, bar := range c128Modules(v)[:11] {
			inBar := (i >= int(b[0]) && i < int(b[1])) || (i >= int(b[2]) && i < int(b[3])) || (i >= int(b[4]) && i < int(b[5]))
			if inBar != bar {
				t.Errorf("symbol %d: module %d in a bar %v, drawn %v", v, i, inBar, bar)
			}
		}
	}
}

// patternsFromWriter is every symbol as gozxing's writer draws it: the
// data symbols of one-character texts in code set B, the check
// characters of one- and two-character texts (every value), the starts
// of texts in sets A, B and C, and the stop.
func patternsFromWriter(t testing.TB) [][]bool {
	pats := make([][]bool, 107)
	enc := func(s string) []bool {
		m, err := oned.NewCode128Writer().Encode(s, gozxing.BarcodeFormat_CODE_128, 1, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		var b []bool
		for x := 0; x < m.GetWidth(); x++ {
			b = append(b, m.Get(x, 0))
		}
		// strip quiet zones
		i := 0
		for !b[i] {
			i++
		}
		j := len(b)
		for !b[j-1] {
			j--
		}
		return b[i:j]
	}
	for c := 32; c < 127; c++ {
		b := enc(string(rune(c)))
		if len(b) != 11*3+13 {
			continue
		}
		pats[104] = b[:11]
		pats[c-32] = b[11:22]
		pats[(104+c-32)%103] = b[22:33]
		pats[106] = b[33:]
	}
	for r := 96; r <= 102; r++ {
		b := enc(string(rune(32+r-81)) + string(rune(32+40)))
		pats[r] = b[33:44]
	}
	b := enc("00")
	pats[105] = b[:11]
	b = enc("\x01")
	pats[103] = b[:11]
	for v, p := range pats {
		if p == nil {
			t.Fatalf("no pattern %d", v)
		}
	}
	return pats
}

// blurredBars draws modules (true: bar) at m pixels a module, the i-th
// module's edge moved by warp(i) pixels (paper that is not flat), blurred
// by a Gaussian of sigma pixels, with sensor noise.
func blurredBars(mods []bool, m, sigma float64, warp func(i int) float64, rng *rand.Rand) Frame {
	const margin, h = 40, 64
	w := int(float64(len(mods))*m) + 2*margin
	prof := make([]float64, w)
	s := math.Sqrt(sigma*sigma+1.0/12) * math.Sqrt2
	for x := range prof {
		c := float64(x) + 0.5
		ink := 0.0
		for i, bar := range mods {
			if bar {
				a := margin + float64(i)*m + warp(i)
				b := margin + float64(i+1)*m + warp(i+1)
				ink += 0.5 * (math.Erf((b-c)/s) - math.Erf((a-c)/s))
			}
		}
		prof[x] = 200 - 160*ink
	}
	f := Frame{Width: w, Height: h, Stride: w, Pix: make([]byte, w*h)}
	for y := range h {
		for x := range w {
			f.Pix[y*w+x] = byte(min(max(prof[x]+rng.NormFloat64()*4, 0), 255))
		}
	}
	return f
}

func code128Modules(t testing.TB, text string) []bool {
	m, err := oned.NewCode128Writer().Encode(text, gozxing.BarcodeFormat_CODE_128, 1, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mods []bool
	for x := range m.GetWidth() {
		mods = append(mods, m.Get(x, 0))
	}
	for !mods[0] {
		mods = mods[1:]
	}
	for !mods[len(mods)-1] {
		mods = mods[:len(mods)-1]
	}
	return mods
}

// A payment code photographed out of focus: 2.4 pixels a module, blurred
// so that no one-module space rises to the paper's level, on paper that
// bows (the middle symbols a pixel off a straight grid). No pass but the
// fitted one reads it; the fitted one reads it right, whichever way up.
func TestFitBlurredCode128(t *testing.T) {
	const text = "284012345678901234"
	rng := rand.New(rand.NewPCG(9, 10))
	mods := code128Modules(t, text)
	bow := func(i int) float64 { return 1.2 * math.Sin(math.Pi*float64(i)/float64(len(mods))) }
	for _, upsideDown := range []bool{false, true} {
		ms := slices.Clone(mods)
		if upsideDown {
			slices.Reverse(ms)
		}
		f := blurredBars(ms, 2.4, 1.5, bow, rng)
		without := newDecoder(defaultPasses[:len(defaultPasses)-1])
		if c, err := without.DecodeFrame(f); err == nil {
			t.Fatalf("upside down %v: read %q without fitting: the test is too easy", upsideDown, c.Text)
		}
		c, err := NewDecoder().DecodeFrame(f)
		if err != nil || c.Text != text || c.Symbology != hal.SymCode128 {
			t.Fatalf("upside down %v: %v %q, %v; want %q", upsideDown, c.Symbology, c.Text, err, text)
		}
	}
	// Blurred twice as much, it is not read, and not misread.
	f := blurredBars(mods, 2.4, 3.2, bow, rng)
	if c, err := NewDecoder().DecodeFrame(f); err == nil {
		t.Fatalf("read %q blurred by 3.2 pixels", c.Text)
	}
}

// Bars that are no code between a start and a stop, blurred the same: a
// Viterbi search finds the sequence that fits them best, and one time in
// a hundred it passes the check character; the misfit bound must refuse
// those.
func TestFitRefusesRandomBars(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	flat := func(int) float64 { return 0 }
	for n := range 300 {
		// a real start and stop round bars of no symbols: the ends fit,
		// and only the misfit of the whole tells
		mods := slices.Clone(c128Modules(104))
		for bar := true; len(mods) < 11*(4+n%10); bar = !bar {
			for range 1 + rng.IntN(4) {
				mods = append(mods, bar)
			}
		}
		if mods[len(mods)-1] {
			mods = append(mods, false)
		}
		mods = append(mods, c128Modules(c128Stop)...)
		f := blurredBars(mods, 2.4, 1.4, flat, rng)
		prof := make([]float64, f.Width)
		for y := 24; y < 24+fitBandRows; y++ {
			for x := range prof {
				prof[x] += float64(f.Pix[y*f.Width+x]) / fitBandRows
			}
		}
		if text, ok := fitProfile(prof); ok {
			t.Fatalf("random bars %d read as %q", n, text)
		}
	}
}

// BenchmarkFit is the fitted pass on the blurred photo it reads, and on
// random blurred bars it refuses (every band, both ways).
func BenchmarkFit(b *testing.B) {
	rng := rand.New(rand.NewPCG(13, 14))
	var mods []bool
	for bar := true; len(mods) < 120; bar = !bar {
		for range 1 + rng.IntN(4) {
			mods = append(mods, bar)
		}
	}
	frames := map[string]Frame{"random-bars": blurredBars(append(mods, true), 2.4, 1.4, func(int) float64 { return 0 }, rng)}
	if dir := benchdata(); dir != "" {
		f, err := ReadFrame(filepath.Join(dir, "code128-2", "30.png"))
		if err != nil {
			b.Fatal(err)
		}
		frames["blackbox-30"] = f
	}
	for name, f := range frames {
		b.Run(name, func(b *testing.B) {
			d := NewDecoder()
			for b.Loop() {
				d.resetFrame(planeOf(f))
				d.code128Fit()
			}
		})
	}
}

// The live decoder never takes the fitted pass: at 15-20 ms it would stall
// the camera, which has the next frame instead.
func TestLiveSkipsFit(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	mods := code128Modules(t, "284012345678901234")
	f := blurredBars(mods, 2.4, 1.5, func(int) float64 { return 0 }, rng)
	live := NewLiveDecoder()
	for range 4 * len(live.passes) {
		if c, err := live.DecodeFrame(f); err == nil {
			t.Fatalf("live read %q in pass %d", c.Text, live.lastPass)
		}
	}
	if _, err := NewDecoder().DecodeFrame(f); err != nil {
		t.Fatalf("the still decoder does not read it: %v", err)
	}
}

// The fitted pass alone, on every photo and phone screen, the ones other
// passes read included: it may read a code or not, never misread one.
func TestFitAloneNeverMisreads(t *testing.T) {
	imgs := phoneImages(t)
	if dir := benchdata(); dir != "" {
		imgs = append(imgs, loadBlackbox(t, dir)...)
	}
	d := NewDecoder()
	read := 0
	for _, im := range imgs {
		d.resetFrame(planeOf(im.f))
		text, ok := d.code128Fit()
		switch {
		case ok && text != im.want:
			t.Errorf("%s/%s: read %q, want %q", im.set, im.name, text, im.want)
		case ok:
			read++
		}
	}
	t.Logf("%d of %d images read by the fit alone, none misread", read, len(imgs))
}
