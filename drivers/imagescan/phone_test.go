package imagescan

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/shoukuan/pos/hal"
)

// Synthetic camera frames of a phone screen showing a payment code, for
// the conditions the blackbox photos do not cover: dark mode, low
// contrast, glare and moiré. Each is a 640×480 grey frame as the camera
// delivers it.

type scene struct {
	sym      hal.Symbology
	text     string
	module   float64 // pixels per module (QR) or per narrow bar (Code 128)
	angle    float64 // degrees
	dark     bool    // dark mode: light modules on a dark screen
	ink, bg  float64 // grey of dark and light modules before effects
	glare    float64 // strength of a bright spot over part of the code, 0-1
	moire    float64 // depth of the screen/sensor beat pattern, 0-1
	noise    float64 // uniform sensor noise, ± grey levels
	vignette bool    // darker corners, brighter centre
}

const (
	payQR   = "https://qr.alipay.com/bax08431xbvf6xkrbnqv00a3"
	payCode = "134567890123456789"
)

var phoneScenes = map[string]scene{
	"qr screen":          {sym: hal.SymQR, text: payQR, module: 4.5, angle: 8, ink: 30, bg: 225, noise: 6},
	"qr dark mode":       {sym: hal.SymQR, text: payQR, module: 4.5, angle: -6, dark: true, ink: 35, bg: 200, noise: 6},
	"qr low contrast":    {sym: hal.SymQR, text: payQR, module: 4.5, angle: 12, ink: 118, bg: 140, noise: 3},
	"qr dim dark mode":   {sym: hal.SymQR, text: payQR, module: 4, angle: 3, dark: true, ink: 20, bg: 60, noise: 3},
	"qr glare":           {sym: hal.SymQR, text: payQR, module: 4.5, angle: 5, ink: 30, bg: 225, glare: 0.8, noise: 4},
	"qr moire":           {sym: hal.SymQR, text: payQR, module: 4.2, angle: 10, ink: 30, bg: 225, moire: 0.35, noise: 4},
	"qr glare dark mode": {sym: hal.SymQR, text: payQR, module: 4.5, angle: -9, dark: true, ink: 30, bg: 210, glare: 0.7, noise: 4},
	"qr vignette":        {sym: hal.SymQR, text: payCode, module: 6, angle: 25, ink: 40, bg: 200, vignette: true, noise: 5},
	"c128 screen":        {sym: hal.SymCode128, text: payCode, module: 2.6, angle: 2, ink: 30, bg: 225, noise: 5},
	"c128 vertical":      {sym: hal.SymCode128, text: payCode, module: 2.6, angle: 91, ink: 30, bg: 225, noise: 5},
	"c128 upside down":   {sym: hal.SymCode128, text: payCode, module: 2.6, angle: 178, ink: 30, bg: 225, noise: 5},
	"c128 dark mode":     {sym: hal.SymCode128, text: payCode, module: 2.6, angle: -3, dark: true, ink: 35, bg: 200, noise: 5},
	"c128 low contrast":  {sym: hal.SymCode128, text: payCode, module: 2.6, angle: 4, ink: 120, bg: 142, noise: 3},
	"c128 glare":         {sym: hal.SymCode128, text: payCode, module: 2.6, angle: 1, ink: 30, bg: 225, glare: 0.8, noise: 4},
	"c128 moire":         {sym: hal.SymCode128, text: payCode, module: 2.6, angle: 3, ink: 30, bg: 225, moire: 0.3, noise: 4},
}

// render draws the scene: the code (with its quiet zone) on a phone
// screen in the middle of a darker, textured surround, sampled 3×3 per
// pixel so that edges are grey as through a lens.
func (s scene) render(t testing.TB) Frame {
	var m *gozxing.BitMatrix
	var err error
	if s.sym == hal.SymQR {
		m, err = qrcode.NewQRCodeWriter().Encode(s.text, gozxing.BarcodeFormat_QR_CODE, 1, 1, nil)
	} else {
		m, err = oned.NewCode128Writer().Encode(s.text, gozxing.BarcodeFormat_CODE_128, 1, 1, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	cw, ch := float64(m.GetWidth()), float64(m.GetHeight())
	barHeight := 0.0
	if s.sym == hal.SymCode128 {
		barHeight = 0.35 * cw // bars drawn this many modules tall
		ch = barHeight
	}
	const W, H = 640, 480
	rng := rand.New(rand.NewPCG(uint64(len(s.text)), uint64(s.module*100+s.angle)))
	sin, cos := math.Sincos(s.angle * math.Pi / 180)
	ink, bg := s.ink, s.bg
	if s.dark {
		ink, bg = bg, ink
	}
	screenBg := bg // the screen around the code shows the code's background
	pix := make([]byte, W*H)
	for y := range H {
		for x := range W {
			var sum float64
			for sy := range 3 {
				for sx := range 3 {
					// frame → code coordinates, centred
					fx := float64(x) + (float64(sx)+0.5)/3 - W/2
					fy := float64(y) + (float64(sy)+0.5)/3 - H/2
					u := (cos*fx+sin*fy)/s.module + cw/2
					v := (-sin*fx+cos*fy)/s.module + ch/2
					var g float64
					switch {
					case u >= 0 && v >= 0 && u < cw && v < ch:
						row := int(v)
						if s.sym == hal.SymCode128 {
							row = 0
						}
						if m.Get(int(u), row) {
							g = ink
						} else {
							g = bg
						}
					case u > -8 && v > -8 && u < cw+8 && v < ch+8: // rest of the screen
						g = screenBg
					default: // the phone's bezel and the counter
						g = 50 + 20*math.Sin(fx/37)*math.Cos(fy/23)
					}
					sum += g
				}
			}
			g := sum / 9
			if s.vignette {
				r2 := (math.Pow(float64(x-W/2), 2) + math.Pow(float64(y-H/2), 2)) / (W * W / 4)
				g *= 1.15 - 0.5*r2
			}
			if s.glare > 0 {
				dx, dy := float64(x-W/2-40), float64(y-H/2+30)
				k := s.glare * math.Exp(-(dx*dx+dy*dy)/(2*60*60))
				g += (255 - g) * k
			}
			if s.moire > 0 {
				// the beat of the screen's pixel grid against the
				// sensor's: broad diagonal bands, and a fine ripple
				beat := math.Sin(2 * math.Pi * (float64(x)/13 + float64(y)/31))
				fine := math.Sin(2 * math.Pi * float64(x) / 3.2)
				g *= 1 - s.moire/2*(1-beat) - 0.06*(1-fine)
			}
			g += (rng.Float64()*2 - 1) * s.noise
			pix[y*W+x] = byte(math.Round(min(max(g, 0), 255)))
		}
	}
	return Frame{Width: W, Height: H, Stride: W, Format: Grey, Pix: pix}
}

func TestPhoneScreens(t *testing.T) {
	d := NewDecoder()
	for name, s := range phoneScenes {
		f := s.render(t)
		c, err := d.DecodeFrame(f)
		if err != nil || c.Symbology != s.sym || c.Text != s.text {
			t.Errorf("%s: %+v %v", name, c, err)
			continue
		}
		t.Logf("%-20s decoded in pass %d", name, d.lastPass)
	}
}

// TestCode128AtAnyAngle: a phone held at any angle, in steps of 15°, with
// sensor noise, in light and dark mode: every frame reads the code and
// nothing else. With -v it prints the bench figures (make bench).
func TestCode128AtAnyAngle(t *testing.T) {
	d := NewDecoder()
	var ms []float64
	read, frames := 0, 0
	for _, dark := range []bool{false, true} {
		for a := 0; a < 360; a += 15 {
			s := scene{sym: hal.SymCode128, text: payCode, module: 2.6, angle: float64(a) + 0.7, dark: dark, ink: 30, bg: 225, noise: 12}
			f := s.render(t)
			frames++
			start := time.Now()
			c, err := d.DecodeFrame(f)
			ms = append(ms, float64(time.Since(start).Microseconds())/1000)
			switch {
			case err != nil:
				t.Errorf("%d° (dark %v): %v", a, dark, err)
			case c.Symbology != hal.SymCode128 || c.Text != payCode:
				t.Errorf("%d° (dark %v): FALSE READ %s %q", a, dark, c.Symbology, c.Text)
			default:
				read++
			}
		}
	}
	if testing.Verbose() {
		fmt.Printf("BENCH code128_any_angle_decoded %d of_%d\n", read, frames)
		fmt.Printf("BENCH code128_any_angle_median %.2f ms\n", quantile(ms, 0.5))
		fmt.Printf("BENCH code128_any_angle_p90 %.2f ms\n", quantile(ms, 0.9))
	}
}
