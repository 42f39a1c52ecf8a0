package imagescan

import (
	"math/bits"
	"slices"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// findFinders is gozxing's FinderPatternFinder.Find at normal effort,
// with the same result, but with its row scan done over runs of pixels
// taken a 32-bit word at a time instead of one Get per pixel: that scan
// was 40 % of a live frame without a code, and this one is three to four
// times quicker (BenchmarkFindFinders). The checks of a
// candidate (the 1:1:3:1:1 test, the vertical, horizontal and diagonal
// cross checks, the choice of three) are gozxing's own exported ones,
// called in the order its Find calls them; TestFindFindersMatchesGozxing
// holds the two to the same centres, on every view of the blackbox photos
// when they are there.
//
// The scan's order, as in gozxing: every iSkip-th row; on a row, each
// window of five runs that starts with a black run, the next window two
// runs on, or six after a window confirmed as a centre (the scan starts
// afresh after it).
func (d *Decoder) findFinders(mat *gozxing.BitMatrix) (*detector.FinderPatternInfo, error) {
	f := detector.NewFinderPatternFinder(mat, nil)
	maxI, maxJ := mat.GetHeight(), mat.GetWidth()
	iSkip := max(3*maxI/(4*detector.FinderPatternFinder_MAX_MODULES), detector.FinderPatternFinder_MIN_SKIP)
	hasSkipped := false // gozxing's own flag is not exported: see skipped
	counts := make([]int, 5)
	done := false
	for i := iSkip - 1; i < maxI && !done; i += iSkip {
		d.finderRow = mat.GetRow(i, d.finderRow)
		runs, firstBlack := rowRuns(d.finderRow.GetBitArray(), maxJ, d.runs[:0])
		d.runs = runs
		k := 0 // the window's first run
		if !firstBlack {
			k = 1
		}
	row:
		for ; k+4 < len(runs); k += 2 {
			w := runs[k : k+5 : k+5]
			if !maybeCross(w) {
				continue
			}
			for n := range counts {
				counts[n] = int(w[n])
			}
			if !detector.FinderPatternFinder_foundPatternCross(counts) {
				continue
			}
			if k+5 == len(runs) {
				// The last run, black, ends at the edge: gozxing's check
				// after the row.
				if f.HandlePossibleCenter(counts, i, maxJ) {
					iSkip = counts[0]
					if hasSkipped {
						done = f.HaveMultiplyConfirmedCenters()
					}
				}
				break
			}
			end := 0 // the pixel after the window
			for _, r := range runs[:k+5] {
				end += int(r)
			}
			if !f.HandlePossibleCenter(counts, i, end) {
				continue
			}
			iSkip = 2
			if hasSkipped {
				done = f.HaveMultiplyConfirmedCenters()
			} else {
				rowSkip := f.FindRowSkip()
				hasSkipped = skipped(f)
				if rowSkip > counts[2] {
					i += rowSkip - counts[2] - iSkip
					break row
				}
			}
			// afresh after a centre: the next window starts at the black
			// run after the white one that ended this one
			k += 4
		}
	}
	fps, err := f.SelectBestPatterns()
	if err != nil {
		return nil, err
	}
	bl, tl, tr := gozxing.ResultPoint_OrderBestPatterns(fps[0], fps[1], fps[2])
	return detector.NewFinderPatternInfo(bl.(*detector.FinderPattern), tl.(*detector.FinderPattern), tr.(*detector.FinderPattern)), nil
}

// skipped is gozxing's hasSkipped after FindRowSkip: set for good once
// two centres have each been confirmed twice.
func skipped(f *detector.FinderPatternFinder) bool {
	n := 0
	for _, c := range f.GetPossibleCenters() {
		if c.GetCount() >= detector.FinderPatternFinder_CENTER_QUORUM {
			n++
		}
	}
	return n >= 2
}

// maybeCross is a looser, integer form of gozxing's 1:1:3:1:1 test
// (each run within half a module of its share of the total), so that the
// float test runs on the few windows that might pass it: |T/7 - c| <
// T/14 is |2T - 14c| < T, and here <= keeps the float's rounding out.
func maybeCross(w []int32) bool {
	w = w[:5:5]
	t := w[0] + w[1] + w[2] + w[3] + w[4]
	// the centre first, the test most windows fail: |6T - 14c| <= 3T
	if c := 6*t - 14*w[2]; c > 3*t || -c > 3*t || t < 7 {
		return false
	}
	// the one-module runs: |2T - 14c| <= T
	a, b, c, d := 2*t-14*w[0], 2*t-14*w[1], 2*t-14*w[3], 2*t-14*w[4]
	return max(a, b, c, d) <= t && -min(a, b, c, d) <= t
}

// rowRuns appends the lengths of the row's runs of like pixels to runs,
// and tells whether the first is black (set). It works a word at a time:
// the bits where a pixel differs from the one before it are the runs'
// ends.
func rowRuns(words []uint32, width int, runs []int32) ([]int32, bool) {
	if width <= 0 {
		return runs, false
	}
	runs = slices.Grow(runs, width+1)
	firstBlack := words[0]&1 != 0
	prev := words[0] & 1 // the pixel before each word's first, the row's first before the row
	start := 0           // of the current run
	n := (width + 31) / 32
	for i, w := range words[:n] {
		if tail := width - i*32; tail < 32 {
			// the bits past the row repeat its last pixel: no change there
			w &= 1<<tail - 1
			w |= -(w >> (tail - 1) & 1) << tail
		}
		change := w ^ (w<<1 | prev)
		prev = w >> 31
		for change != 0 {
			x := i*32 + bits.TrailingZeros32(change)
			runs = append(runs, int32(x-start))
			start = x
			change &= change - 1
		}
	}
	return append(runs, int32(width-start)), firstBlack
}
