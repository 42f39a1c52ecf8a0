package imagescan

// Image preparation for the later decode passes. Each function writes a
// new packed plane and leaves its input alone, so that the passes can
// share the frame and one another's results.

// shrink averages k×k blocks. Photos taken close up have modules of ten
// pixels or more, and sensor noise, JPEG blocks and screen moiré at the
// pixel scale; averaging removes those and leaves k² fewer pixels to
// binarize. The right and bottom edges that do not fill a block are
// dropped.
func shrink(p *plane, k int, buf []byte) *plane {
	w, h := p.w/k, p.h/k
	r := newPlane(w, h, buf)
	if w == 0 || h == 0 {
		return r
	}
	sums := make([]uint32, w)
	area := uint32(k * k)
	for y := 0; y < h; y++ {
		clear(sums)
		for yy := 0; yy < k; yy++ {
			src := p.row(y*k + yy)
			for x := range sums {
				var s uint32
				for _, v := range src[x*k : x*k+k] {
					s += uint32(v)
				}
				sums[x] += s
			}
		}
		dst := r.row(y)
		for x, s := range sums {
			dst[x] = byte((s + area/2) / area)
		}
	}
	return r
}

// grow doubles the plane by bilinear interpolation. Small, dense codes
// (three pixels a module) then get a binarizer window that fits their
// modules, and the sampling grid lands on smooth edges.
func grow(p *plane, buf []byte) *plane {
	r := newPlane(2*p.w, 2*p.h, buf)
	// Output pixel X sits at input x = X/2 - 1/4; in quarters of a pixel
	// the weights are 3:1 or 1:3 between a pixel and its neighbour.
	for Y := 0; Y < r.h; Y++ {
		y0, y1 := Y/2, Y/2
		if Y%2 == 0 {
			y0 = max(y0-1, 0)
		} else {
			y1 = min(y1+1, p.h-1)
		}
		a, b := p.row(y0), p.row(y1)
		wa, wb := uint32(1), uint32(3) // even rows: closer to y1
		if Y%2 == 1 {
			wa, wb = 3, 1
		}
		dst := r.row(Y)
		for X := range dst {
			x0, x1 := X/2, X/2
			if X%2 == 0 {
				x0 = max(x0-1, 0)
			} else {
				x1 = min(x1+1, p.w-1)
			}
			ua, ub := uint32(1), uint32(3)
			if X%2 == 1 {
				ua, ub = 3, 1
			}
			top := uint32(a[x0])*ua + uint32(a[x1])*ub
			bot := uint32(b[x0])*ua + uint32(b[x1])*ub
			dst[X] = byte((top*wa + bot*wb + 8) / 16)
		}
	}
	return r
}

// gammaLUT maps darker (+1, γ 2) or lighter (-1, γ ½). Darkening thins
// the white gaps that overexposed paper bleeds into the black modules;
// lightening does the opposite for ink that spreads.
var gammaLUT = func() (t [2][256]byte) {
	for i := range 256 {
		d := i * i / 255
		t[0][i] = byte(d)
		// the inverse of squaring, rounded: the largest l with l*l/255 <= i
		l := 0
		for (l+1)*(l+1)/255 <= i && l < 255 {
			l++
		}
		t[1][i] = byte(l)
	}
	return
}()

func applyGamma(p *plane, g int8, buf []byte) *plane {
	lut := &gammaLUT[0]
	if g < 0 {
		lut = &gammaLUT[1]
	}
	r := newPlane(p.w, p.h, buf)
	for y := 0; y < p.h; y++ {
		dst := r.row(y)
		for x, v := range p.row(y) {
			dst[x] = lut[v]
		}
	}
	return r
}

// amplify is a local contrast boost: each pixel's difference from the
// mean of its (2r+1)² neighbourhood, times gain, around mid-grey. A dim
// or low-brightness screen may span twenty grey levels; the hybrid
// binarizer wants at least 24 inside each 8×8 block before it believes
// there is an edge.
func amplify(p *plane, r, gain int, buf []byte) *plane {
	out := newPlane(p.w, p.h, buf)
	w, h := p.w, p.h
	// column sums over the vertical window, slid down the image
	col := make([]uint32, w)
	for y := -r; y <= r; y++ {
		row := p.row(min(max(y, 0), h-1))
		for x, v := range row {
			col[x] += uint32(v)
		}
	}
	n := (2*r + 1) * (2*r + 1)
	for y := 0; y < h; y++ {
		// horizontal window over the column sums, edges clamped
		var s uint32
		for x := -r; x <= r; x++ {
			s += col[min(max(x, 0), w-1)]
		}
		src, dst := p.row(y), out.row(y)
		for x := 0; x < w; x++ {
			mean := int(s) / n
			v := 128 + gain*(int(src[x])-mean)
			dst[x] = byte(min(max(v, 0), 255))
			s += col[min(x+r+1, w-1)] - col[max(x-r, 0)]
		}
		if y+1 < h {
			add, sub := p.row(min(y+r+1, h-1)), p.row(max(y-r, 0))
			for x := range col {
				col[x] += uint32(add[x]) - uint32(sub[x])
			}
		}
	}
	return out
}
