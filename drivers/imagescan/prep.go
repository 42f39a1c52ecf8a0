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
