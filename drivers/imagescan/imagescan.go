// Package imagescan decodes payment codes from camera frames and still
// images: the decode pipeline of the camera scanner, also used by the fake
// scanner and `pos decode` so that the simulator reads codes the way a
// terminal does.
//
// Only QR and Code 128 are tried: other 1D readers produce false reads on
// dense QR codes, and those two cover every Chinese payment code.
//
// Everything works on the luminance plane (a grey frame, or the Y bytes
// of a YUYV frame). A frame goes through a fixed list of passes, cheapest
// and most often successful first, until one decodes; the list and its
// order come from the blackbox measurements in bench_test.go. Within a
// pass, a QR code whose finders are found but whose grid fails error
// correction is sampled once more from the grey plane, on a grid moved
// locally to fit a bent or blurred code (qrgrid.go). The last pass, for
// still images only, reads Code 128 blurred past its edges by fitting
// the grey profile against blurred symbols (c128fit.go).
package imagescan

import (
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // technicians save camera frames as JPEG
	_ "image/png"
	"io/fs"
	"os"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"

	"github.com/shoukuan/pos/hal"
)

// ErrNoCode means the image holds no readable QR or Code 128 symbol.
var ErrNoCode = errors.New("no QR or Code 128 found")

// view is a prepared version of the frame's luminance plane. The zero
// view is the working plane: the frame itself, or the frame shrunk when it
// is large (see workSide).
type view struct {
	full    bool // the frame at its own size, when the working plane is shrunk
	gamma   int8 // +1 darker (γ 2), -1 lighter (γ ½) (see gammaLUT)
	amplify bool // local contrast boost (see amplify)
	invert  bool // negative, for dark-mode screens
	orient  bool // the bars' region turned upright, for bars at an angle (see orient.go)
}

type binarizer uint8

const (
	hybrid binarizer = iota // local thresholds (see localBinarizer): uneven light, glare
	global                  // one threshold per image: blur, small codes
)

// pass is one attempt: which view, which binarizer, which readers.
type pass struct {
	view
	bin  binarizer
	qr   bool   // QR (normal effort: TRY_HARDER added no decode, measured)
	c128 bool   // Code 128, rows both ways, two rows must agree (see code128)
	fit  bool   // Code 128 too blurred for edges, fitted (see c128fit.go)
	why  string // for the report
}

// defaultPasses, in order. Each row says what it rescues, measured on the
// zxing blackbox photos (179 QR, 49 Code 128) and on the synthetic phone
// screens in phone_test.go; see TestBlackboxReport for the figures.
var defaultPasses = []pass{
	// Decodes 171 of the 179 QR photos and 44 of 49 Code 128 on its own,
	// 13 of those QR through the regrid (see qrgrid.go).
	{bin: hybrid, qr: true, c128: true, why: "plain"},
	// Dark mode: light modules on a dark screen (none in the blackbox
	// sets; the synthetic dark-mode screens).
	{view: view{invert: true}, bin: hybrid, qr: true, c128: true, why: "inverted"},
	// Bars at an angle the row scan misses (15° to 75° off level, and
	// so on round): only when the frame has a field of bars that way
	// (1 blackbox Code 128, the turned phone screens).
	{view: view{orient: true}, bin: hybrid, c128: true, why: "bars turned upright"},
	{view: view{orient: true, invert: true}, bin: hybrid, c128: true, why: "bars turned upright, inverted"},
	// Overexposed paper and backlit screens, where white bleeds into the
	// modules: darkening restores their width (4 blackbox QR, and 3 more
	// with one threshold for the whole frame, where the local thresholds
	// of a washed-out code find no finder pattern).
	{view: view{gamma: 1}, bin: hybrid, qr: true, c128: true, why: "darkened"},
	{view: view{gamma: 1}, bin: global, qr: true, why: "darkened, one threshold"},
	// Dim screens: a few dozen grey levels between modules and background.
	{view: view{amplify: true}, bin: hybrid, qr: true, c128: true, why: "contrast boost"},
	{view: view{amplify: true, invert: true}, bin: hybrid, qr: true, c128: true, why: "contrast boost, inverted"},
	// Moiré on bars, and thin bars: lightening keeps white gaps open
	// (2 blackbox Code 128).
	{view: view{gamma: -1}, bin: hybrid, c128: true, why: "lightened"},
	// A large photo that did not decode shrunk: once more at full size
	// (1 blackbox Code 128 of 1445×930: bars are read at full size only).
	{view: view{full: true}, bin: hybrid, qr: true, c128: true, why: "full size"},
	{view: view{full: true, invert: true}, bin: hybrid, qr: true, c128: true, why: "full size, inverted"},
	{view: view{full: true, orient: true}, bin: hybrid, c128: true, why: "full size, bars turned upright"},
	// Level bars blurred past their edges (1 blackbox Code 128 of 2.4
	// pixels a module): 15-20 ms a frame, last, for still images only.
	{fit: true, why: "blurred bars, fitted"},
}

// workSide bounds the working plane: a larger frame (a phone photo of
// 4000×3000) is first decoded shrunk by whole blocks to at most this on
// its long side, where it is fifteen times cheaper and its modules are
// still several pixels wide.
const workSide = 1280

// Decoder runs the pass list on a frame. It keeps gozxing readers and
// scratch buffers between frames and is not safe for concurrent use.
type Decoder struct {
	qrDec  *decoder.Decoder // format, version, Reed-Solomon: after our own detection (see decodeQR)
	c128   oned.RowDecoder
	hints  map[gozxing.DecodeHintType]any
	passes []pass
	live   bool
	turn   int // live mode: the slow pass this frame gets

	grey      []byte // the Y plane of a YUYV frame
	row       *gozxing.BitArray
	rowTexts  map[string]int    // Code 128 reads of the current scan
	moduleBuf []float64         // regrid's module samples
	finderRow *gozxing.BitArray // findFinders' scratch
	runs      []int32

	// per-frame state
	views     map[view]*plane
	bitmaps   map[bitmapKey]*gozxing.BinaryBitmap
	bins      map[bitmapKey]gozxing.Binarizer
	shrunk    bool          // the working plane is smaller than the frame
	lastPass  int           // index of the pass that decoded the last frame, -1 if none
	bars      *barField     // of the working plane, once per frame
	regridded map[view]bool // views whose QR grid was refined this frame
}

type bitmapKey struct {
	view
	bin binarizer
}

// NewDecoder is a decoder for still images: every pass, until one decodes.
func NewDecoder() *Decoder {
	return newDecoder(defaultPasses)
}

// A live frame gets the plain pass and, when the frame holds bars at an
// angle, the upright pass (a quarter of a millisecond without bars); then
// one more pass in turn: dark mode every other frame, the slower ones in
// the frames between. The next frame shows nearly the same picture, so a
// dark-mode code is read within two frames and one that needs the fifth
// pass within a dozen, while an empty frame costs two passes, not all.
const (
	darkPass   = 1 // index of the dark-mode pass in defaultPasses
	orientPass = 2 // index of the upright pass
)

// NewLiveDecoder is a decoder for a camera stream (see darkPass).
func NewLiveDecoder() *Decoder {
	d := newDecoder(defaultPasses)
	d.live = true
	return d
}

func newDecoder(passes []pass) *Decoder {
	c128, _ := oned.NewCode128Reader().(oned.RowDecoder)
	return &Decoder{
		qrDec: decoder.NewDecoder(),
		c128:  c128,
		// gozxing tests hints for presence, not value: never put a
		// hint in with false.
		hints:     map[gozxing.DecodeHintType]any{},
		passes:    passes,
		rowTexts:  map[string]int{},
		views:     map[view]*plane{},
		bitmaps:   map[bitmapKey]*gozxing.BinaryBitmap{},
		bins:      map[bitmapKey]gozxing.Binarizer{},
		regridded: map[view]bool{},
	}
}

// DecodeFrame reads one code from a camera frame.
func (d *Decoder) DecodeFrame(f Frame) (hal.Code, error) {
	y, err := f.YPlane(d.grey)
	if err != nil {
		return hal.Code{}, err
	}
	if f.Format == YUYV {
		d.grey = y.Pix // keep the buffer for the next frame
	}
	return d.decodePlane(planeOf(y))
}

// Decode reads one code from a decoded image.
func (d *Decoder) Decode(img image.Image) (hal.Code, error) {
	return d.DecodeFrame(GreyFrame(img))
}

// DecodeFile reads an image file (PNG or JPEG) and decodes it.
func (d *Decoder) DecodeFile(path string) (hal.Code, error) {
	f, err := ReadFrame(path)
	if err == nil {
		var c hal.Code
		if c, err = d.DecodeFrame(f); err == nil {
			return c, nil
		}
	}
	return hal.Code{}, fmt.Errorf("%s: %w", path, err)
}

// ReadFrame reads a PNG or JPEG file as a grey frame. Its errors leave
// the path to the caller.
func ReadFrame(path string) (Frame, error) {
	f, err := os.Open(path)
	if err != nil {
		return Frame{}, withoutPath(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return Frame{}, fmt.Errorf("not a PNG or JPEG image: %w", withoutPath(err))
	}
	return GreyFrame(img), nil
}

func withoutPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// decodePlane runs the passes. gozxing is a port of Java code that was
// written to throw, and odd input can still make it index out of range:
// a panic is one more way of not finding a code.
func (d *Decoder) decodePlane(p *plane) (c hal.Code, err error) {
	d.resetFrame(p)
	defer func() {
		// let go of the frame (it may be a camera's mapped buffer)
		clear(d.views)
		clear(d.bitmaps)
		clear(d.bins)
		if r := recover(); r != nil {
			c, err = hal.Code{}, fmt.Errorf("%w (decoder failed: %v)", ErrNoCode, r)
		}
	}()
	// Bars at an angle and none level: a code turned in the hand. Its
	// upright passes go first, and the others would not read it anyway.
	var tried uint64 // passes already run, by index
	if f := d.barField(); f.ok && !f.level {
		for i, ps := range d.passes {
			if ps.orient && d.applies(ps) && (!d.live || i == orientPass) {
				tried |= 1 << i
				if c, ok := d.try(ps); ok {
					d.lastPass = i
					return c, nil
				}
			}
		}
	}
	var slow []int // live mode: the passes taken in turn
	for i, ps := range d.passes {
		if !d.applies(ps) || tried&(1<<i) != 0 {
			continue
		}
		if d.live && i != 0 && i != orientPass {
			// The fit costs 15-20 ms here, ten times a live frame: a
			// camera's next frame is the cheaper chance.
			if i != darkPass && !ps.fit {
				slow = append(slow, i)
			}
			continue
		}
		if c, ok := d.try(ps); ok {
			d.lastPass = i
			return c, nil
		}
	}
	if d.live {
		i := darkPass
		if d.turn%2 == 1 && len(slow) > 0 {
			i = slow[d.turn/2%len(slow)]
		}
		d.turn++
		if c, ok := d.try(d.passes[i]); ok {
			d.lastPass = i
			return c, nil
		}
	}
	return hal.Code{}, ErrNoCode
}

// resetFrame forgets the last frame and sets up p's working plane.
func (d *Decoder) resetFrame(p *plane) {
	clear(d.views)
	clear(d.bitmaps)
	clear(d.bins)
	clear(d.regridded)
	d.lastPass = -1
	d.bars = nil
	d.views[view{full: true}] = p
	work := p
	if k := (max(p.w, p.h) + workSide - 1) / workSide; k > 1 {
		work = shrink(p, k, nil)
	}
	d.shrunk = work != p
	d.views[view{}] = work
}

// applies tells whether a pass is worth running on this frame.
func (d *Decoder) applies(ps pass) bool {
	// at full size on a frame not shrunk: the same as the passes before it
	return !ps.full || d.shrunk
}

func (d *Decoder) try(ps pass) (hal.Code, bool) {
	if ps.fit {
		if t, ok := d.code128Fit(); ok {
			return hal.Code{Symbology: hal.SymCode128, Text: t}, true
		}
		return hal.Code{}, false
	}
	bmp := d.bitmap(ps.view, ps.bin)
	if bmp == nil {
		return hal.Code{}, false
	}
	if ps.qr {
		if t, ok := d.decodeQR(bmp, ps.view); ok {
			return hal.Code{Symbology: hal.SymQR, Text: t}, true
		}
	}
	// Bars shrunk to a pixel or so misread consistently, on every row
	// alike, so Code 128 is read at full size only.
	if ps.c128 && (ps.full || !d.shrunk) && d.rowsCanRead(ps.view) {
		if t, ok := d.code128(bmp); ok {
			return hal.Code{Symbology: hal.SymCode128, Text: t}, true
		}
	}
	return hal.Code{}, false
}

// code128 scans rows from the middle outwards, down to every fourth row
// (gozxing's TRY_HARDER reads every row of a VGA frame, for no more
// decodes here at four times the cost of an empty frame), each row both
// ways (upside-down labels). It accepts a text once two rows read it and
// it leads any other text read by two. Code 128 has one mod-103 check character; on a photo of a label
// a single row misreads now and then ("rz094043" for "42094043"), and a
// misread payment code charges the wrong customer, while a true code
// spans dozens of rows.
func (d *Decoder) code128(bmp *gozxing.BinaryBitmap) (string, bool) {
	if d.c128 == nil {
		return "", false
	}
	clear(d.rowTexts)
	h := bmp.GetHeight()
	// Coarse to fine: rows 32 apart from the middle outwards, then the
	// rows halfway between those, and so on down to c128Step. A code
	// that fills a good part of the frame is read in the first few rows;
	// a small one is still met.
	for gap := 32; gap >= c128Step; gap /= 2 {
		for k := 0; k*gap <= h/2; k++ {
			if gap < 32 && k%2 == 0 {
				continue // a row of the coarser pass
			}
			ys := []int{h/2 + k*gap, h/2 - k*gap}
			if k == 0 {
				ys = ys[:1] // the middle row, once: each row has one vote
			}
			for _, y := range ys {
				if y >= h {
					continue
				}
				if t, ok := d.code128Row(bmp, y); ok {
					return t, true
				}
			}
		}
	}
	return "", false
}

// c128Step is the finest row spacing the Code 128 scan goes down to.
const c128Step = 4

// code128Row reads row y both ways (upside-down labels) and reports a
// text once it has enough rows behind it.
func (d *Decoder) code128Row(bmp *gozxing.BinaryBitmap, y int) (string, bool) {
	row, err := bmp.GetBlackRow(y, d.row)
	if err != nil {
		return "", false
	}
	d.row = row
	for turn := range 2 {
		if turn == 1 {
			row.Reverse()
		}
		r, err := d.c128.DecodeRow(y, row, d.hints)
		if err != nil {
			continue
		}
		t := latin1(r.GetText())
		d.rowTexts[t]++
		n := d.rowTexts[t]
		return t, n >= 2 && n >= d.runnerUp(t)+2
	}
	return "", false
}

// runnerUp is the most rows any text other than t was read on.
func (d *Decoder) runnerUp(t string) int { return runnerUp(d.rowTexts, t) }

// latin1 turns the bytes gozxing returns for Code 128 into text. Code 128
// carries ISO 8859-1: with FNC4 a byte is a Latin-1 character (0xF3 is
// ó), which Go would otherwise keep as invalid UTF-8.
func latin1(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			r := make([]rune, len(s))
			for j := 0; j < len(s); j++ {
				r[j] = rune(s[j])
			}
			return string(r)
		}
	}
	return s
}

// barField is the bar-like tiles of the working plane. A frame without
// any is not scanned for Code 128 at all: its bars would make dozens of
// coherent tiles, and the row scan is most of the cost of an empty frame.
func (d *Decoder) barField() barField {
	if d.bars == nil {
		f := barField{}
		if p := d.views[view{}]; p != nil {
			f = findBars(p)
		}
		d.bars = &f
	}
	return *d.bars
}

// rowsCanRead tells whether the row scan of view v can meet bars: the
// frame has a field of bars, and unless v turned them upright, they run
// within reach of level. Bars at 40° are not read by rows; skipping
// those scans is what makes a turned code as quick as a level one.
func (d *Decoder) rowsCanRead(v view) bool {
	f := d.barField()
	if v.orient {
		return f.ok
	}
	return f.level
}

// bitmap is the binary bitmap of a view, made once per frame: passes that
// share a view and binarizer share the thresholded matrix.
func (d *Decoder) bitmap(v view, b binarizer) *gozxing.BinaryBitmap {
	k := bitmapKey{v, b}
	if bmp, ok := d.bitmaps[k]; ok {
		return bmp
	}
	var bmp *gozxing.BinaryBitmap
	if bz := d.binarizer(v, b); bz != nil {
		bmp, _ = gozxing.NewBinaryBitmap(bz)
	}
	d.bitmaps[k] = bmp
	return bmp
}

// binarizer thresholds a view. A negative view is the negative of its
// positive's thresholds: the same edges, without a second plane and a
// second thresholding (a third of an empty frame's cost).
func (d *Decoder) binarizer(v view, b binarizer) gozxing.Binarizer {
	k := bitmapKey{v, b}
	if bz, ok := d.bins[k]; ok {
		return bz
	}
	var bz gozxing.Binarizer
	if v.invert {
		u := v
		u.invert = false
		if base := d.binarizer(u, b); base != nil {
			bz = &negative{base: base}
		}
	} else if p := d.view(v); p != nil {
		if b == hybrid {
			bz = newLocalBinarizer(p)
		} else {
			bz = gozxing.NewGlobalHistgramBinarizer(p)
		}
	}
	d.bins[k] = bz
	return bz
}

// view prepares a view from the simpler view it derives from, each
// prepared once per frame. Negative views have no plane of their own
// (see binarizer).
func (d *Decoder) view(v view) *plane {
	if p, ok := d.views[v]; ok {
		return p
	}
	var p *plane
	src := d.view
	u := v
	switch {
	case v.amplify:
		u.amplify = false
		if s := src(u); s != nil {
			p = amplify(s, 12, 4, nil)
		}
	case v.gamma != 0:
		u.gamma = 0
		if s := src(u); s != nil {
			p = applyGamma(s, v.gamma, nil)
		}
	case v.orient:
		u.orient = false
		if s := src(u); s != nil {
			f := d.barField() // of the working plane, which s is
			if u.full {
				f = findBars(s)
			}
			if f.ok && angleDiff(f.angle, 0) > rowScanTilt {
				p = upright(s, f)
			}
		}
	}
	d.views[v] = p
	return p
}
