package imagescan

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode/detector"

	"github.com/shoukuan/pos/hal"
)

// The decode figures of `make bench`, on the zxing blackbox photos that
// live outside the repository (../shared/benchdata, see its SOURCE.md).
// go test runs in the package directory, so the path must be absolute:
//
//	POS_BENCHDATA=$PWD/../shared/benchdata go test -run TestBlackboxReport -v ./drivers/imagescan
//
// A decode counts when its text equals the expected file byte for byte; a
// decode with any other text is a false read, worse than none.

// benchdata is the blackbox directory, or "" when it is not there.
func benchdata() string {
	root := os.Getenv("POS_BENCHDATA")
	if root == "" {
		root = filepath.Join("..", "..", "..", "shared", "benchdata")
	}
	dir := filepath.Join(root, "zxing-blackbox")
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return ""
	}
	return dir
}

// sameCode names blackbox photos whose expected-text file is wrong, with
// a photo of the same printed code whose file is right. qrcode-2/13.png
// and qrcode-2/12.png are one code (41×41, level Q): their sampled
// grids differ in 27 of 1681 modules, scattered as sampling noise, and
// 12.png corrects to "photography", as 12.txt says; 13.txt says
// "photograph". A decode of 13.png that agrees with 12.txt is right.
var sameCode = map[string]string{"qrcode-2/13.png": "qrcode-2/12.txt"}

type benchImage struct {
	set, name string // set: blackbox directory, or "phone"
	want      string
	sym       hal.Symbology
	f         Frame
}

// loadBlackbox reads every qrcode-* and code128-* image with its expected
// text, as grey frames: file decoding stays out of the timings.
func loadBlackbox(t testing.TB, dir string) []benchImage {
	var out []benchImage
	sets, _ := filepath.Glob(filepath.Join(dir, "*-*"))
	slices.Sort(sets)
	for _, set := range sets {
		sym := hal.SymQR
		switch {
		case strings.HasPrefix(filepath.Base(set), "code128-"):
			sym = hal.SymCode128
		case !strings.HasPrefix(filepath.Base(set), "qrcode-"):
			continue
		}
		pngs, _ := filepath.Glob(filepath.Join(set, "*.png"))
		slices.Sort(pngs)
		for _, p := range pngs {
			wantFile := strings.TrimSuffix(p, ".png") + ".txt"
			if other, ok := sameCode[filepath.Base(set)+"/"+filepath.Base(p)]; ok {
				wantFile = filepath.Join(dir, other)
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatal(err)
			}
			f, err := ReadFrame(p)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, benchImage{set: filepath.Base(set), name: filepath.Base(p), want: string(want), sym: sym, f: f})
		}
	}
	return out
}

func phoneImages(t testing.TB) []benchImage {
	var out []benchImage
	for _, name := range slices.Sorted(maps.Keys(phoneScenes)) {
		s := phoneScenes[name]
		out = append(out, benchImage{set: "phone", name: name, want: s.text, sym: s.sym, f: s.render(t)})
	}
	return out
}

// timeDecode is the median of three decodes of f, in milliseconds.
func timeDecode(d *Decoder, f Frame) float64 {
	var ts [3]float64
	for i := range ts {
		start := time.Now()
		d.DecodeFrame(f)
		ts[i] = float64(time.Since(start).Nanoseconds()) / 1e6
	}
	slices.Sort(ts[:])
	return ts[1]
}

func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(int(q*float64(len(s))), len(s)-1)]
}

const vga = 640 * 480

func TestBlackboxReport(t *testing.T) {
	dir := benchdata()
	if dir == "" {
		t.Skip("no blackbox images (set POS_BENCHDATA to the benchdata directory)")
	}
	imgs := append(loadBlackbox(t, dir), phoneImages(t)...)
	d := NewDecoder()
	type tally struct{ n, ok, wrong int }
	sets := map[string]*tally{}
	var setOrder []string
	bySym := map[hal.Symbology]*tally{hal.SymQR: {}, hal.SymCode128: {}}
	// correct decodes per pass: blackbox QR, blackbox Code 128, phone
	perPass := make([][3]int, len(d.passes))
	var all, allVGA, real640 []float64
	for _, im := range imgs {
		s := sets[im.set]
		if s == nil {
			s = &tally{}
			sets[im.set] = s
			setOrder = append(setOrder, im.set)
		}
		s.n++
		c, err := d.DecodeFrame(im.f)
		pass := d.lastPass
		switch {
		case err != nil:
			t.Logf("miss  %s/%s", im.set, im.name)
		case c.Text != im.want:
			s.wrong++
			t.Errorf("FALSE READ %s/%s in pass %d: %s %q, want %q", im.set, im.name, pass, c.Symbology, c.Text, im.want)
		default:
			s.ok++
			k := 0
			switch {
			case im.set == "phone":
				k = 2
			case im.sym == hal.SymCode128:
				k = 1
			}
			perPass[pass][k]++
		}
		if im.set == "phone" {
			continue
		}
		b := bySym[im.sym]
		b.n++
		if err == nil && c.Text == im.want {
			b.ok++
		} else if err == nil {
			b.wrong++
		}
		ms := timeDecode(d, im.f)
		all = append(all, ms)
		allVGA = append(allVGA, ms*vga/float64(im.f.Width*im.f.Height))
		if im.f.Width == 640 && im.f.Height == 480 {
			real640 = append(real640, ms)
		}
	}
	for _, name := range setOrder {
		s := sets[name]
		t.Logf("%-10s %3d of %3d decoded, %d false", name, s.ok, s.n, s.wrong)
	}
	for i, n := range perPass {
		t.Logf("pass %2d %-26s decodes %3d QR, %2d Code 128, %2d phone screens", i, d.passes[i].why, n[0], n[1], n[2])
	}
	qr, c128 := bySym[hal.SymQR], bySym[hal.SymCode128]
	// empty counter in front of the camera: every pass runs and fails
	var emptyMS []float64
	ef := emptyFrame()
	for range 5 {
		emptyMS = append(emptyMS, timeDecode(d, ef))
	}
	live := NewLiveDecoder()
	var liveMS []float64
	for range 4 * len(live.passes) {
		liveMS = append(liveMS, timeDecode(live, ef))
	}
	fmt.Printf("BENCH qr_decoded %d of_%d\n", qr.ok, qr.n)
	fmt.Printf("BENCH code128_decoded %d of_%d\n", c128.ok, c128.n)
	fmt.Printf("BENCH decode_false_reads %d count\n", qr.wrong+c128.wrong+sets["phone"].wrong)
	fmt.Printf("BENCH phone_screens_decoded %d of_%d\n", sets["phone"].ok, sets["phone"].n)
	fmt.Printf("BENCH decode_640x480_median %.2f ms\n", quantile(real640, 0.5))
	fmt.Printf("BENCH decode_640x480_p90 %.2f ms\n", quantile(real640, 0.9))
	fmt.Printf("BENCH decode_per_640x480_area_median %.2f ms\n", quantile(allVGA, 0.5))
	fmt.Printf("BENCH decode_per_640x480_area_p90 %.2f ms\n", quantile(allVGA, 0.9))
	fmt.Printf("BENCH decode_no_code_640x480_all_passes %.2f ms\n", quantile(emptyMS, 0.5))
	fmt.Printf("BENCH decode_no_code_640x480_live_median %.2f ms\n", quantile(liveMS, 0.5))
	fmt.Printf("BENCH decode_no_code_640x480_live_max %.2f ms\n", quantile(liveMS, 1))
	t.Logf("%d VGA photos; all %d frames as they are: median %.2f ms, p90 %.2f ms", len(real640), len(all), quantile(all, 0.5), quantile(all, 0.9))
	if qr.ok < 178 || c128.ok < 49 {
		t.Errorf("decoded %d QR (want 178) and %d Code 128 (want 49)", qr.ok, c128.ok)
	}
}

// TestBlackboxSameCode checks the claim of sameCode: the two photos'
// module grids, as gozxing samples them, are one code.
func TestBlackboxSameCode(t *testing.T) {
	dir := benchdata()
	if dir == "" {
		t.Skip("no blackbox images (set POS_BENCHDATA to the benchdata directory)")
	}
	for photo, other := range sameCode {
		grid := func(name string) *gozxing.BitMatrix {
			f, err := ReadFrame(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			// darkened and one threshold: the view both photos read in
			bmp, _ := gozxing.NewBinaryBitmap(gozxing.NewGlobalHistgramBinarizer(applyGamma(planeOf(f), 1, nil)))
			m, err := bmp.GetBlackMatrix()
			if err != nil {
				t.Fatal(err)
			}
			r, err := detector.NewDetector(m).Detect(nil)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return r.GetBits()
		}
		a, b := grid(photo), grid(strings.TrimSuffix(other, ".txt")+".png")
		if a.GetWidth() != b.GetWidth() {
			t.Fatalf("%s is %d modules wide, %s %d", photo, a.GetWidth(), other, b.GetWidth())
		}
		differ := 0
		for y := range a.GetHeight() {
			for x := range a.GetWidth() {
				if a.Get(x, y) != b.Get(x, y) {
					differ++
				}
			}
		}
		n := a.GetWidth() * a.GetHeight()
		t.Logf("%s and %s: %d of %d modules differ", photo, other, differ, n)
		if differ*20 > n {
			t.Errorf("%s and %s differ in %d of %d modules: not one code", photo, other, differ, n)
		}
	}
}

// emptyFrame is a 640×480 view of a counter with no code on it.
func emptyFrame() Frame {
	f := Frame{Width: 640, Height: 480, Stride: 640, Pix: make([]byte, vga)}
	for y := range 480 {
		for x := range 640 {
			f.Pix[y*640+x] = byte(60 + (x*7+y*3)%50 + (x/40+y/40)%2*40)
		}
	}
	return f
}

// BenchmarkDecodeVGA decodes the 640×480 blackbox photos (or, without
// them, the synthetic phone screens), one frame per iteration.
func BenchmarkDecodeVGA(b *testing.B) {
	var frames []Frame
	if dir := benchdata(); dir != "" {
		for _, im := range loadBlackbox(b, dir) {
			if im.f.Width == 640 && im.f.Height == 480 {
				frames = append(frames, im.f)
			}
		}
	}
	if len(frames) == 0 {
		for _, im := range phoneImages(b) {
			frames = append(frames, im.f)
		}
	}
	d := NewDecoder()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		d.DecodeFrame(frames[i%len(frames)])
	}
}

// BenchmarkDecodeNoCode is the cost of a frame with nothing to read, for
// the still-image decoder (all passes) and the camera's live decoder.
func BenchmarkDecodeNoCode(b *testing.B) {
	f := emptyFrame()
	for _, c := range []struct {
		name string
		d    *Decoder
	}{{"all", NewDecoder()}, {"live", NewLiveDecoder()}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.d.DecodeFrame(f)
			}
		})
	}
}
