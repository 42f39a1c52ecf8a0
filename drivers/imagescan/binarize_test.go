package imagescan

import (
	"encoding/binary"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/makiuchi-d/gozxing"
)

// The pass list was measured with gozxing's HybridBinarizer; the local
// binarizer must give the very same matrix.
func TestLocalBinarizerMatchesHybrid(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var planes []*plane
	for _, sz := range [][2]int{{40, 40}, {41, 57}, {64, 48}, {333, 97}, {640, 480}, {39, 200}, {200, 39}} {
		for _, kind := range []int{0, 1, 2} {
			stride := sz[0] + rng.IntN(5)
			pix := make([]byte, stride*sz[1])
			for i := range pix {
				switch kind {
				case 0: // noise
					pix[i] = byte(rng.IntN(256))
				case 1: // blobs with flat areas
					x, y := i%stride, i/stride
					pix[i] = byte(100 + 90*((x/13+y/7)%2) + rng.IntN(8))
				case 2: // low contrast
					pix[i] = byte(120 + rng.IntN(20))
				}
			}
			planes = append(planes, &plane{w: sz[0], h: sz[1], stride: stride, pix: pix})
		}
	}
	for _, im := range phoneImages(t) {
		planes = append(planes, planeOf(im.f))
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "codes", "*.png"))
	for _, f := range files {
		fr, err := ReadFrame(f)
		if err != nil {
			t.Fatal(err)
		}
		planes = append(planes, planeOf(fr))
	}
	for i, p := range planes {
		want, err1 := gozxing.NewHybridBinarizer(p).GetBlackMatrix()
		got, err2 := newLocalBinarizer(p).GetBlackMatrix()
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("plane %d %dx%d: errors %v / %v", i, p.w, p.h, err1, err2)
		}
		if err1 != nil {
			continue
		}
		for y := 0; y < p.h; y++ {
			for x := 0; x < p.w; x++ {
				if want.Get(x, y) != got.Get(x, y) {
					t.Fatalf("plane %d %dx%d differs first at (%d,%d)", i, p.w, p.h, x, y)
				}
			}
		}
	}
}

func BenchmarkBinarizeVGA(b *testing.B) {
	p := planeOf(phoneImages(b)[0].f)
	b.Run("gozxing", func(b *testing.B) {
		for b.Loop() {
			gozxing.NewHybridBinarizer(p).GetBlackMatrix()
		}
	})
	b.Run("local", func(b *testing.B) {
		for b.Loop() {
			newLocalBinarizer(p).GetBlackMatrix()
		}
	})
}

// blackBits against the pixel-by-pixel rule, for every threshold and
// every value in every byte, the other bytes random.
func TestBlackBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for th := range int32(256) {
		for v := range 256 {
			var px [8]byte
			for i := range px {
				px[i] = byte(rng.IntN(256))
			}
			px[v%8] = byte(v)
			var want uint8
			for i, p := range px {
				if int32(p) <= th {
					want |= 1 << i
				}
			}
			if got := blackBits(binary.LittleEndian.Uint64(px[:]), th); got != want {
				t.Fatalf("pixels %v, threshold %d: %08b, want %08b", px, th, got, want)
			}
		}
	}
}
