package imagescan

import (
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/common"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// QR codes on curved paper, or photographed blurred and overexposed,
// where gozxing finds the three finder patterns and the right version but
// its grid misses: one perspective transform from three finders and one
// alignment pattern cannot follow a sticker that bulges, and thresholded
// pixels wash out a small dark module that blur has turned grey. On the
// blackbox photos the misread modules came in patches, shifted a fraction
// of a module, and four in five were dark modules read as light.
//
// regrid samples the grey plane instead of the thresholded one, and moves
// the grid locally: for each block of modules it takes the shift that
// makes the module centres most contrasted (a sample on a module's centre
// is near black or white, one on an edge is grey), first for large blocks
// and then, from there, for smaller ones. Reed-Solomon correction then
// decides as it does for any grid: a grid that is still wrong fails, it
// does not become another code.

// regridLevel is one round of block shifts: blocks of side modules (0:
// the whole code), shifts of up to reach steps of step modules each way.
type regridLevel struct {
	side, reach int
	step        float64
}

// regridPlans are tried in turn. Chosen on the nine blackbox QR photos
// that no pass read before and whose finders gozxing finds (qrcode-3,
// qrcode-4): block shifts alone read seven in trials, and a shift of the
// whole code first the other two, whose whole grid sat off by about half
// a module. As built, the two read eight of the nine (not qrcode-4/33),
// and 13 blackbox photos in all in the plain pass.
var regridPlans = [][]regridLevel{
	{{7, 2, 0.2}, {4, 1, 0.15}},
	{{0, 2, 0.2}, {7, 2, 0.15}, {4, 1, 0.1}},
}

// regridMaxSide is the largest code regridded, version 15: its cost
// grows with the square of the side, about 1.5 ms for version 4 here and
// ten times that on a terminal's core, and payment codes are versions 2
// to 10. A larger code that fails its grid stays unread.
const regridMaxSide = 77

// darkShare places a module's threshold 60 % of the way from the darkest
// to the lightest module centre within three modules: blur and bleed turn
// a lone dark module grey long before a lone light one.
const darkShare = 0.6

// decodeQR is gozxing's QR reader, with regrid when the grid it sampled
// fails correction. bmp is view v thresholded.
func (d *Decoder) decodeQR(bmp *gozxing.BinaryBitmap, v view) (string, bool) {
	mat, err := bmp.GetBlackMatrix()
	if err != nil {
		return "", false
	}
	info, err := d.findFinders(mat)
	if err != nil {
		return "", false // no code: the common case, and the cheap one
	}
	res, err := detector.NewDetector(mat).ProcessFinderPatternInfo(info)
	if err != nil {
		return "", false
	}
	timing := timingHolds(res.GetBits()) // before Decode, which unmasks in place
	if r, err := d.qrDec.Decode(res.GetBits(), d.hints); err == nil {
		return r.GetText(), true
	}
	// Only a grid whose timing patterns hold: three finder-like crosses
	// in a field of bars or text are no code, and a regrid of their
	// made-up grid of a hundred-odd modules would cost tens of
	// milliseconds a frame.
	if !timing || res.GetBits().GetWidth() > regridMaxSide {
		return "", false
	}
	// Once a frame for each view, and only on the frame's own levels: on
	// the darkened and boosted views the regrid read no more photos, at
	// a millisecond or two each.
	if d.regridded[v] || v.gamma != 0 || v.amplify {
		return "", false
	}
	d.regridded[v] = true
	// A negative view has no plane (see binarizer): the positive's,
	// read inverted.
	dark := v.invert
	v.invert = false
	lum := d.view(v)
	if lum == nil {
		return "", false
	}
	var align *detector.AlignmentPattern
	if pts := res.GetPoints(); len(pts) == 4 {
		align, _ = pts[3].(*detector.AlignmentPattern)
	}
	dim := res.GetBits().GetWidth()
	g := moduleGrid{
		lum:  lum,
		dark: dark,
		dim:  dim,
		tf:   detector.Detector_createTransform(info.GetTopLeft(), info.GetTopRight(), info.GetBottomLeft(), align, dim),
	}
	for _, plan := range regridPlans {
		var f *shiftField
		for _, l := range plan {
			f = g.refine(f, l)
		}
		bits := g.threshold(f, &d.moduleBuf)
		if r, err := d.qrDec.Decode(bits, d.hints); err == nil {
			return r.GetText(), true
		}
	}
	return "", false
}

// timingHolds tells whether one of the two timing patterns, the
// alternating modules between the finders along row 6 and along column
// 6, mostly reads as it must: three in four. A grid laid over bars or
// text rather than a code meets its timing modules by chance, one in two
// (measured: 0.42 to 0.60 on turned bars). One of the two is enough: a
// code bent round a stand shifts the modules of one of them, not both.
func timingHolds(bits *gozxing.BitMatrix) bool {
	dim := bits.GetWidth()
	row, col, n := 0, 0, 0
	for k := 8; k < dim-8; k++ {
		dark := k%2 == 0
		if bits.Get(k, 6) == dark {
			row++
		}
		if bits.Get(6, k) == dark {
			col++
		}
		n++
	}
	return 4*max(row, col) >= 3*n
}

// moduleGrid maps module coordinates (x across, y down, a module's
// centre at +0.5) to the grey plane.
type moduleGrid struct {
	lum   *plane
	dark  bool
	dim   int
	tf    *common.PerspectiveTransform
	spots []spot // each module's centre under the current field (see place)
}

// spot is where a module's centre falls in the plane, and which way one
// module across (u) and one module down (v) go from there. Shifts of
// less than a module follow those two directions: the perspective
// transform bends too little over a module to matter, and the search
// then costs two multiplications a sample instead of a transform.
type spot struct{ x, y, ux, uy, vx, vy float64 }

// place puts every module's centre where field f shifts it.
func (g *moduleGrid) place(f *shiftField) {
	g.spots = g.spots[:0]
	pt := make([]float64, 6)
	for j := range g.dim {
		for i := range g.dim {
			dx, dy := f.at(i, j)
			x, y := float64(i)+0.5+dx, float64(j)+0.5+dy
			pt[0], pt[1], pt[2], pt[3], pt[4], pt[5] = x, y, x+1, y, x, y+1
			g.tf.TransformPoints(pt)
			g.spots = append(g.spots, spot{pt[0], pt[1], pt[2] - pt[0], pt[3] - pt[1], pt[4] - pt[0], pt[5] - pt[1]})
		}
	}
}

// sample is the grey level of module (i, j) moved by (ox, oy) modules
// from its spot, 0 black to 255 white as the code reads (inverted for a
// negative).
func (g *moduleGrid) sample(i, j int, ox, oy float64) float64 {
	s := &g.spots[j*g.dim+i]
	x := s.x + ox*s.ux + oy*s.vx
	y := s.y + ox*s.uy + oy*s.vy
	v := bilinear(g.lum, int64(x*65536), int64(y*65536))
	if g.dark {
		v = 255 - v
	}
	return float64(v)
}

// shiftField is a shift for each block of side×side modules, applied at
// the block's centre and interpolated between centres.
type shiftField struct {
	side, n int // n×n blocks
	dx, dy  []float64
}

func (f *shiftField) at(i, j int) (float64, float64) {
	if f == nil {
		return 0, 0
	}
	// block coordinates of module (i, j), block centres at whole numbers
	bx := (float64(i)+0.5)/float64(f.side) - 0.5
	by := (float64(j)+0.5)/float64(f.side) - 0.5
	x0, y0 := min(int(max(bx, 0)), f.n-1), min(int(max(by, 0)), f.n-1)
	x1, y1 := min(x0+1, f.n-1), min(y0+1, f.n-1)
	ax, ay := min(max(bx-float64(x0), 0), 1), min(max(by-float64(y0), 0), 1)
	lerp := func(s []float64) float64 {
		top := s[y0*f.n+x0]*(1-ax) + s[y0*f.n+x1]*ax
		bot := s[y1*f.n+x0]*(1-ax) + s[y1*f.n+x1]*ax
		return top*(1-ay) + bot*ay
	}
	return lerp(f.dx), lerp(f.dy)
}

// refine is one level: each block's best further shift on top of prev,
// smoothed with its neighbours so that a block of uniform modules, which
// any shift fits, follows the blocks around it.
func (g *moduleGrid) refine(prev *shiftField, l regridLevel) *shiftField {
	side := l.side
	if side == 0 {
		side = g.dim
	}
	n := (g.dim + side - 1) / side
	g.place(prev)
	f := &shiftField{side: side, n: n, dx: make([]float64, n*n), dy: make([]float64, n*n)}
	for bj := range n {
		for bi := range n {
			i0, j0 := bi*side, bj*side
			i1, j1 := min(i0+side, g.dim), min(j0+side, g.dim)
			// the block's threshold, from a module's margin around it
			lo, hi := 255.0, 0.0
			for j := max(j0-1, 0); j < min(j1+1, g.dim); j++ {
				for i := max(i0-1, 0); i < min(i1+1, g.dim); i++ {
					v := g.sample(i, j, 0, 0)
					lo, hi = min(lo, v), max(hi, v)
				}
			}
			mid := (lo + hi) / 2
			best := -1.0
			for sy := -l.reach; sy <= l.reach; sy++ {
				for sx := -l.reach; sx <= l.reach; sx++ {
					ox, oy := float64(sx)*l.step, float64(sy)*l.step
					contrast := 0.0
					for j := j0; j < j1; j++ {
						for i := i0; i < i1; i++ {
							v := g.sample(i, j, ox, oy)
							contrast += max(v-mid, mid-v)
						}
					}
					// ties and near-ties stay near where they were
					contrast *= 1 - 0.05*(max(ox, -ox)+max(oy, -oy))
					if contrast > best {
						best = contrast
						f.dx[bj*n+bi], f.dy[bj*n+bi] = ox, oy
					}
				}
			}
		}
	}
	smooth := &shiftField{side: side, n: n, dx: make([]float64, n*n), dy: make([]float64, n*n)}
	for bj := range n {
		for bi := range n {
			var sx, sy, w float64
			for j := max(bj-1, 0); j <= min(bj+1, n-1); j++ {
				for i := max(bi-1, 0); i <= min(bi+1, n-1); i++ {
					k := 1.0
					if i == bi && j == bj {
						k = 2
					}
					sx += k * f.dx[j*n+i]
					sy += k * f.dy[j*n+i]
					w += k
				}
			}
			px, py := prev.at(min(bi*side+side/2, g.dim-1), min(bj*side+side/2, g.dim-1))
			smooth.dx[bj*n+bi] = sx/w + px
			smooth.dy[bj*n+bi] = sy/w + py
		}
	}
	return smooth
}

// threshold samples every module under f and reads it dark or light
// against its neighbourhood (see darkShare).
func (g *moduleGrid) threshold(f *shiftField, buf *[]float64) *gozxing.BitMatrix {
	dim := g.dim
	if cap(*buf) < dim*dim {
		*buf = make([]float64, dim*dim)
	}
	grey := (*buf)[:dim*dim]
	g.place(f)
	for j := range dim {
		for i := range dim {
			grey[j*dim+i] = g.sample(i, j, 0, 0)
		}
	}
	const r = 3
	bits, _ := gozxing.NewBitMatrix(dim, dim)
	for j := range dim {
		for i := range dim {
			lo, hi := 255.0, 0.0
			for jj := max(j-r, 0); jj <= min(j+r, dim-1); jj++ {
				for _, v := range grey[jj*dim+max(i-r, 0) : jj*dim+min(i+r, dim-1)+1] {
					lo, hi = min(lo, v), max(hi, v)
				}
			}
			if grey[j*dim+i] < lo+darkShare*(hi-lo) {
				bits.Set(i, j)
			}
		}
	}
	return bits
}
