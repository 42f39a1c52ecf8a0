package imagescan

import (
	"math"

	"github.com/makiuchi-d/gozxing"
)

// Code 128 blurred past what edges can read: bars of two or three pixels
// a module, out of focus, where a one-module space between bars never
// rises to the level of the paper and no threshold or edge finds it. The
// row's grey profile is matched against the profile each sequence of
// symbols would give through the same blur: a Viterbi search, symbol by
// symbol, over the 103 values and a small shift of each symbol's place
// (paper is not flat and lenses are not straight: on the blackbox photo
// this was made for, the middle symbols sit a pixel off a uniform grid).
// What it finds must pass the check character, decode as Code 128 when
// drawn clean, fit the profile nearly as well as a code fits its own
// (random bars between a start and a stop fit their best sequence twice
// as badly), and be found the same on two bands of rows.

const (
	fitBandRows = 16  // rows averaged into one profile: noise down, tilt smear under half a pixel
	fitBands    = 6   // bands tried, spread over the bars' height
	fitMinPx    = 1.2 // module widths tried, pixels
	fitMaxPx    = 4.5 // wider modules the row scan reads
	fitShifts   = 9   // a symbol's place: -2 to +2 pixels in halves
	fitStep     = 0.5
	// fitMaxMisfit bounds the root mean square misfit, as a share of the
	// ink's contrast, of a sequence taken for a read (see fitProfile).
	fitMaxMisfit = 0.12
	// fitMaxEndsMisfit is the same for the start and stop symbols alone,
	// before the search (see fitProfile).
	fitMaxEndsMisfit = 0.13
)

// fitSigmas are the blurs tried (Gaussian σ, pixels); the one that fits
// the start and stop symbols best is used.
var fitSigmas = []float64{1.0, 1.4, 1.8}

// code128Fit reads level, blurred bars of the working plane.
func (d *Decoder) code128Fit() (string, bool) {
	p := d.views[view{}]
	f := d.barField()
	if p == nil || !f.level {
		return "", false
	}
	x0, x1, y0, y1, ok := levelBarsBox(p, f)
	if !ok {
		return "", false
	}
	votes := map[string]int{}
	for b := range fitBands {
		yc := y0 + (y1-y0)*(2*b+1)/(2*fitBands)
		ya, yb := max(yc-fitBandRows/2, 0), min(yc+fitBandRows/2, p.h)
		prof := make([]float64, x1-x0)
		for y := ya; y < yb; y++ {
			for i, v := range p.row(y)[x0:x1] {
				prof[i] += float64(v)
			}
		}
		for i := range prof {
			prof[i] /= float64(yb - ya)
		}
		for turn := range 2 {
			if turn == 1 {
				for i, j := 0, len(prof)-1; i < j; i, j = i+1, j-1 {
					prof[i], prof[j] = prof[j], prof[i]
				}
			}
			if t, ok := fitProfile(prof); ok {
				votes[t]++
				if n := votes[t]; n >= 2 && n >= runnerUp(votes, t)+2 {
					return t, true
				}
			}
		}
	}
	return "", false
}

// runnerUp is the most votes any text other than t has.
func runnerUp(votes map[string]int, t string) int {
	n := 0
	for s, c := range votes {
		if s != t {
			n = max(n, c)
		}
	}
	return n
}

// levelBarsBox is the extent of the largest patch of touching level
// bar tiles (a code's bars; lines of text and ruled lines make smaller
// ones), and a tile more each side for the end bars.
func levelBarsBox(p *plane, f barField) (x0, x1, y0, y1 int, ok bool) {
	tw, th := p.w/tileSide, p.h/tileSide
	grid := make([]int, tw*th) // 1: a level bar tile, then its patch's number+2
	for _, t := range f.tiles {
		if angleDiff(t.angle, 0) <= rowScanTilt+angleTolerance {
			grid[int(t.y)/tileSide*tw+int(t.x)/tileSide] = 1
		}
	}
	bestN := 0
	var stack []int
	for i, g := range grid {
		if g != 1 {
			continue
		}
		n, bx0, bx1, by0, by1 := 0, tw, 0, th, 0
		grid[i] = i + 2
		stack = append(stack[:0], i)
		for len(stack) > 0 {
			c := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n++
			cx, cy := c%tw, c/tw
			bx0, bx1, by0, by1 = min(bx0, cx), max(bx1, cx), min(by0, cy), max(by1, cy)
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := cx+dx, cy+dy
					if nx >= 0 && ny >= 0 && nx < tw && ny < th && grid[ny*tw+nx] == 1 {
						grid[ny*tw+nx] = i + 2
						stack = append(stack, ny*tw+nx)
					}
				}
			}
		}
		if n > bestN {
			bestN = n
			x0, x1 = max((bx0-1)*tileSide, 0), min((bx1+2)*tileSide, p.w)
			y0, y1 = by0*tileSide, (by1+1)*tileSide
		}
	}
	return x0, x1, y0, y1, bestN >= minBarTiles && x1-x0 >= 64 && y1-y0 >= fitBandRows
}

// fitProfile reads one profile that starts on the quiet zone before a
// start symbol.
func fitProfile(prof []float64) (string, bool) {
	// paper and ink: the profile's brightest and darkest (wide bars reach
	// the ink's level even blurred)
	white, black := 0.0, 255.0
	for _, v := range prof {
		white, black = max(white, v), min(black, v)
	}
	if white-black < 40 {
		return "", false
	}
	mid := (white + black) / 2
	xs, xe := -1.0, -1.0 // the first bar's leading edge, the last one's trailing
	for x := 0; x+1 < len(prof); x++ {
		if prof[x] >= mid && prof[x+1] < mid {
			xs = float64(x) + (prof[x]-mid)/(prof[x]-prof[x+1]) + 0.5
			break
		}
	}
	for x := len(prof) - 1; x > 0; x-- {
		if prof[x] >= mid && prof[x-1] < mid {
			xe = float64(x) - (prof[x]-mid)/(prof[x]-prof[x-1]) + 0.5
			break
		}
	}
	if xs < 0 || xe <= xs {
		return "", false
	}
	// Symbols before the stop: the module width follows. The start and
	// stop symbols alone choose the count and the blur; then one search.
	fit := &fitter{prof: prof, white: white, ink: white - black, xs: xs}
	// The count with a middling blur, then the blur for that count.
	best, bestK, bestSigma := math.Inf(1), 0, fitSigmas[len(fitSigmas)/2]
	for k := 3; ; k++ {
		m := (xe - xs) / float64(11*k+13)
		if m < fitMinPx {
			break
		}
		if m > fitMaxPx {
			continue
		}
		fit.m, fit.sigma = m, bestSigma
		if c := fit.endsCost(k, 2); c < best {
			best, bestK = c, k
		}
	}
	if bestK > 0 {
		fit.m = (xe - xs) / float64(11*bestK+13)
		for _, s := range fitSigmas {
			fit.sigma = s
			if c := fit.endsCost(bestK, 1); c < best {
				best, bestSigma = c, s
			}
		}
	}
	// Ends that fit no better than that are no code, or the profile the
	// wrong way round (0.17 to 0.22 on the blackbox photo, under 0.11
	// the right way): the search is the fit's cost, skipped for them.
	if bestK == 0 || math.Sqrt(best/2)/fit.ink > fitMaxEndsMisfit {
		return "", false
	}
	fit.m, fit.sigma = (xe-xs)/float64(11*bestK+13), bestSigma
	seq, misfit := fit.search(bestK)
	if seq == nil || !checksumHolds(seq) {
		return "", false
	}
	// A wrong sequence passes the check one time in 103, and random
	// bars find one that does about as often; they fit it twice as
	// badly as a code fits its own (0.18 to 0.21 of the ink's contrast,
	// root mean square, against 0.09 on the blackbox photo).
	if math.Sqrt(misfit/(xe-xs+4*fit.m))/fit.ink > fitMaxMisfit {
		return "", false
	}
	return drawnCode128(seq)
}

func checksumHolds(seq []int) bool {
	sum := seq[0]
	for i := 1; i < len(seq)-1; i++ {
		sum += i * seq[i]
	}
	return sum%103 == seq[len(seq)-1]
}

// drawnCode128 draws the symbols clean and has gozxing read them: the
// text comes out as the row scan's would, code sets and FNC1 included.
func drawnCode128(seq []int) (string, bool) {
	const quiet = 12
	row := gozxing.NewBitArray(2*quiet + 11*len(seq) + 13)
	x := quiet
	for _, v := range append(seq, c128Stop) {
		for _, bar := range c128Modules(v) {
			if bar {
				row.Set(x)
			}
			x++
		}
	}
	reader, err := newCode128RowReader()
	if err != nil {
		return "", false
	}
	r, err := reader.DecodeRow(0, row, nil)
	if err != nil {
		return "", false
	}
	return latin1(r.GetText()), true
}

// fitter matches one profile against blurred symbols on a grid of
// module width m from the first bar's edge xs.
type fitter struct {
	parts, base  []float64 // slotCosts' scratch
	table        []float64 // see blurTable
	cum          []float64 // slotCosts' scratch
	prevInk      []float64 // slotCosts' scratch
	xbuf         []int     // slotPixels' results, reused
	wrows        [][]float64
	wbuf         []float64
	tableSigma   float64
	prof         []float64
	white, ink   float64 // paper level, and how much darker full ink is
	xs, m, sigma float64
}

// slotPixels is the pixels of slot j (symbol j, shifted by shift
// pixels) with, for each, its weights over the slot's modules: from three
// modules of the symbol before to n of its own and one after.
func (f *fitter) slotPixels(j, n int, shift float64) (xs []int, w [][]float64) {
	x0 := f.xs + float64(11*j)*f.m + shift
	x1 := x0 + float64(n)*f.m
	f.blurTable()
	var edges [18]float64
	xs, w, flat := f.xbuf[:0], f.wrows[:0], f.wbuf[:0]
	for x := int(math.Ceil(x0 - 0.5)); float64(x)+0.5 < x1; x++ {
		if x < 0 || x >= len(f.prof) {
			return nil, nil
		}
		c := float64(x) + 0.5
		for i := range n + 5 {
			edges[i] = f.blurred(x0 + float64(i-3)*f.m - c)
		}
		for i := range n + 4 {
			flat = append(flat, edges[i+1]-edges[i])
		}
		xs = append(xs, x)
	}
	for p := range xs {
		w = append(w, flat[p*(n+4):(p+1)*(n+4)])
	}
	// kept for the next slot: the caller is done with these by then
	f.xbuf, f.wrows, f.wbuf = xs, w, flat
	return xs, w
}

// Blur as a table: the share of a pixel's light that comes from beyond
// an edge d pixels away, for the fitter's sigma and the pixel's own
// width, every 1/32 of a pixel out to ±8. Erf at every module edge of
// every pixel was three quarters of the fit's time.
const (
	blurSteps = 32
	blurReach = 8
)

func (f *fitter) blurTable() {
	if f.tableSigma == f.sigma && f.table != nil {
		return
	}
	s := math.Sqrt(f.sigma*f.sigma+1.0/12) * math.Sqrt2
	f.table = f.table[:0]
	for i := range 2*blurReach*blurSteps + 1 {
		d := float64(i)/blurSteps - blurReach
		f.table = append(f.table, 0.5*math.Erf(d/s))
	}
	f.tableSigma = f.sigma
}

// blurred is the table at d, interpolated.
func (f *fitter) blurred(d float64) float64 {
	t := (d + blurReach) * blurSteps
	if t <= 0 {
		return -0.5
	}
	i := int(t)
	if i >= len(f.table)-1 {
		return 0.5
	}
	r := t - float64(i)
	return f.table[i]*(1-r) + f.table[i+1]*r
}

// cost is the squared misfit of symbol v in a slot, after a symbol
// ending in the three modules of class prev (bit 2 first), with a bar
// after it unless it is the stop.
func (f *fitter) cost(xs []int, w [][]float64, prev int, v int) float64 {
	mods := c128Modules(v)
	c := 0.0
	for p, x := range xs {
		wp := w[p]
		bl := 0.0
		for b := range 3 {
			if prev>>(2-b)&1 == 1 {
				bl += wp[b]
			}
		}
		for i, bar := range mods {
			if bar {
				bl += wp[3+i]
			}
		}
		if v != c128Stop {
			bl += wp[3+len(mods)]
		}
		d := f.prof[x] - (f.white - f.ink*bl)
		c += d * d
	}
	return c
}

// slotCosts is cost for every class before and every data or check
// value (0 to 102) in one slot, into out[c*103+v]: the blur is linear in
// the modules, so each pixel's ink is the part of the symbol before plus
// the part of this one plus the bar after, each worked out once.
func (f *fitter) slotCosts(xs []int, w [][]float64, out []float64) {
	n := len(xs)
	if cap(f.parts) < 103*n {
		f.parts = make([]float64, 103*n)
	}
	parts := f.parts[:103*n]
	base := f.base[:0]
	for p, x := range xs {
		// the paper's level less the bar after's ink
		base = append(base, f.prof[x]-f.white+f.ink*w[p][14])
	}
	f.base = base
	// a symbol's ink at a pixel from its three bars' ends: the weights
	// summed up to each module edge
	if cap(f.cum) < 12*n {
		f.cum = make([]float64, 12*n)
	}
	cum := f.cum[:12*n]
	for p := range xs {
		c := cum[p*12 : p*12+12 : p*12+12]
		c[0] = 0
		for i, wi := range w[p][3:14] {
			c[i+1] = c[i] + wi
		}
	}
	for v := range 103 {
		row := parts[v*n : (v+1)*n]
		b := &c128Bars[v]
		for p := range row {
			c := cum[p*12 : p*12+12 : p*12+12]
			row[p] = f.ink * (c[b[1]] - c[b[0]] + c[b[3]] - c[b[2]] + c[b[5]] - c[b[4]])
		}
	}
	// every symbol ends on a space: the odd classes never come before
	if cap(f.prevInk) < 4*n {
		f.prevInk = make([]float64, 4*n)
	}
	var prev [8][]float64
	for c := 0; c < 8; c += 2 {
		prev[c] = f.prevInk[c/2*n : (c/2+1)*n]
		for p := range xs {
			ink := 0.0
			for b := range 3 {
				if c>>(2-b)&1 == 1 {
					ink += w[p][b]
				}
			}
			prev[c][p] = base[p] + f.ink*ink
		}
	}
	for c := 0; c < 8; c += 2 {
		pc := prev[c]
		for v := range 103 {
			row := parts[v*n : (v+1)*n : (v+1)*n]
			sum := 0.0
			for p, b := range pc[:len(row)] {
				d := b + row[p]
				sum += d * d
			}
			out[c*103+v] = sum
		}
	}
}

// endsCost is how well the best start symbol and the stop fit, for k
// symbols before the stop, per pixel, trying every stride-th shift.
func (f *fitter) endsCost(k, stride int) float64 {
	best := math.Inf(1)
	for o := 0; o < fitShifts; o += stride {
		xs, w := f.slotPixels(0, 11, float64(o-fitShifts/2)*fitStep)
		if xs == nil {
			continue
		}
		for _, s := range []int{103, 104, 105} {
			best = min(best, f.cost(xs, w, 0, s)/float64(len(xs)))
		}
	}
	stop := math.Inf(1)
	for o := 0; o < fitShifts; o += stride {
		xs, w := f.slotPixels(k, 13, float64(o-fitShifts/2)*fitStep)
		if xs == nil {
			continue
		}
		for prev := 0; prev < 8; prev += 2 { // every symbol ends on a space
			stop = min(stop, f.cost(xs, w, prev, c128Stop)/float64(len(xs)))
		}
	}
	return best + stop
}

// search is the Viterbi search over k symbols (a start, data, the check
// character) and the stop: each state a symbol and its shift, a shift
// moving at most one step from one symbol to the next. nil when nothing
// fits.
func (f *fitter) search(k int) ([]int, float64) {
	type state struct {
		cost         float64
		prev, pshift int // the state before, -1 for the first
	}
	inf := math.Inf(1)
	hist := make([][c128Stop][fitShifts]state, k)
	for j := range hist {
		for v := range hist[j] {
			for o := range hist[j][v] {
				hist[j][v][o] = state{inf, -1, -1}
			}
		}
	}
	for o := range fitShifts {
		xs, w := f.slotPixels(0, 11, float64(o-fitShifts/2)*fitStep)
		if xs == nil {
			continue
		}
		for _, s := range []int{103, 104, 105} {
			hist[0][s][o] = state{f.cost(xs, w, 0, s), -1, -1}
		}
	}
	// best[c][o]: the cheapest state ending in module class c at shift o
	type end struct {
		cost float64
		v    int
	}
	bestEnds := func(j int) (best [8][fitShifts]end) {
		for c := range best {
			for o := range best[c] {
				best[c][o] = end{inf, -1}
			}
		}
		for v := range hist[j] {
			c := c128Tail(v)
			for o, s := range hist[j][v] {
				if s.cost < best[c][o].cost {
					best[c][o] = end{s.cost, v}
				}
			}
		}
		return best
	}
	var costs [8 * 103]float64
	for j := 1; j < k; j++ {
		best := bestEnds(j - 1)
		for o := range fitShifts {
			xs, w := f.slotPixels(j, 11, float64(o-fitShifts/2)*fitStep)
			if xs == nil {
				continue
			}
			f.slotCosts(xs, w, costs[:])
			for c := 0; c < 8; c += 2 {
				from, fromShift := end{inf, -1}, -1
				for po := max(o-1, 0); po <= min(o+1, fitShifts-1); po++ {
					if best[c][po].cost < from.cost {
						from, fromShift = best[c][po], po
					}
				}
				if from.v < 0 {
					continue
				}
				for v := range 103 { // data and check values; starts only first
					if t := from.cost + costs[c*103+v]; t < hist[j][v][o].cost {
						hist[j][v][o] = state{t, from.v, fromShift}
					}
				}
			}
		}
	}
	best := bestEnds(k - 1)
	lastV, lastO, total := -1, -1, inf
	for o := range fitShifts {
		xs, w := f.slotPixels(k, 13, float64(o-fitShifts/2)*fitStep)
		if xs == nil {
			continue
		}
		for c := range 8 {
			for po := max(o-1, 0); po <= min(o+1, fitShifts-1); po++ {
				if e := best[c][po]; e.v >= 0 {
					if t := e.cost + f.cost(xs, w, c, c128Stop); t < total {
						lastV, lastO, total = e.v, po, t
					}
				}
			}
		}
	}
	if lastV < 0 {
		return nil, 0
	}
	seq := make([]int, k)
	v, o := lastV, lastO
	for j := k - 1; j >= 0; j-- {
		seq[j] = v
		s := hist[j][v][o]
		v, o = s.prev, s.pshift
	}
	return seq, total
}
