package imagescan

import (
	"math"
	"sort"
)

// Bars at any angle. A cashier holds a phone as it comes; the row scan
// reads bars that run within about 15° of upright (and, turned, of
// level), nothing between. The direction across the bars is where the
// luminance gradients of a bar code all point, one way in every small
// tile of it: the structure tensor of the tile. Tiles that agree give the
// angle and the extent of the code; the code is then resampled upright
// from just that region and read by the same row scan and vote.

const (
	tileSide = 16
	// A tile is bar-like when its mean squared gradient is at least this
	// (edges of some contrast) and its gradients are this coherent
	// (1: all one direction; a QR module grid or text is near 0.3).
	minTileEnergy    = 80
	minTileCoherence = 0.7
	// Tiles within this of the dominant direction belong to the code.
	angleTolerance = 10 * math.Pi / 180
	// minBarTiles of bar-like tiles make a code worth resampling: a
	// payment code's bars span dozens of tiles.
	minBarTiles = 6
	// rowScanTilt is how far off level the row scan itself reads bars:
	// nearer than this, turning them upright adds nothing.
	rowScanTilt = 12 * math.Pi / 180
)

type barTile struct {
	x, y   float64 // centre
	angle  float64 // gradient direction, [0, π)
	weight float64
}

// barField is the bar-like tiles of a plane and their dominant direction
// away from level.
type barField struct {
	tiles []barTile
	level bool    // enough tiles of bars the row scan can read as they are
	angle float64 // across the other bars, [0, π)
	ok    bool    // there are such other bars
}

// findBars measures every tile of p. Gradients are central differences
// on every other pixel of every other row: enough for edges that are at
// least two pixels apart, and a quarter of the work.
func findBars(p *plane) barField {
	var f barField
	tw, th := p.w/tileSide, p.h/tileSide
	for ty := 0; ty < th; ty++ {
		for tx := 0; tx < tw; tx++ {
			var jxx, jyy, jxy, n int64
			x0, y0 := tx*tileSide, ty*tileSide
			for y := max(y0, 1); y < min(y0+tileSide, p.h-1); y += 2 {
				up, row, down := p.row(y-1), p.row(y), p.row(y+1)
				for x := max(x0, 1); x < min(x0+tileSide, p.w-1); x += 2 {
					gx := int64(row[x+1]) - int64(row[x-1])
					gy := int64(down[x]) - int64(up[x])
					jxx += gx * gx
					jyy += gy * gy
					jxy += gx * gy
					n++
				}
			}
			if n == 0 {
				continue
			}
			e := float64(jxx + jyy)
			if e < minTileEnergy*float64(n) {
				continue
			}
			d := float64(jxx - jyy)
			c := math.Sqrt(d*d+4*float64(jxy)*float64(jxy)) / e
			if c < minTileCoherence {
				continue
			}
			a := 0.5 * math.Atan2(2*float64(jxy), d)
			if a < 0 {
				a += math.Pi
			}
			f.tiles = append(f.tiles, barTile{x: float64(x0) + tileSide/2, y: float64(y0) + tileSide/2, angle: a, weight: c * math.Sqrt(e/float64(n))})
		}
	}
	// Bars near level and bars at an angle are told apart first: a
	// frame can hold both (a code, and the edges of the phone or lines
	// of text), and each needs its own reading.
	level := 0
	var bins [36]float64
	for _, t := range f.tiles {
		if angleDiff(t.angle, 0) <= rowScanTilt+angleTolerance {
			level++
			continue
		}
		bins[int(t.angle/math.Pi*36)%36] += t.weight
	}
	f.level = level >= minBarTiles
	// The dominant direction of the rest: a histogram of 5° bins, then
	// the weighted mean of the doubled angles near its peak (angles wrap
	// at π).
	peak := 0
	for i := range bins {
		if bins[i]+bins[(i+1)%36]+bins[(i+35)%36] > bins[peak]+bins[(peak+1)%36]+bins[(peak+35)%36] {
			peak = i
		}
	}
	centre := (float64(peak) + 0.5) * math.Pi / 36
	var sx, sy float64
	count := 0
	for _, t := range f.tiles {
		if angleDiff(t.angle, centre) <= angleTolerance {
			s, c := math.Sincos(2 * t.angle)
			sx += c * t.weight
			sy += s * t.weight
			count++
		}
	}
	if count < minBarTiles {
		return f
	}
	f.angle = math.Atan2(sy, sx) / 2
	if f.angle < 0 {
		f.angle += math.Pi
	}
	f.ok = true
	return f
}

// angleDiff is the difference of two directions, in [0, π/2].
func angleDiff(a, b float64) float64 {
	d := math.Mod(math.Abs(a-b), math.Pi)
	return min(d, math.Pi-d)
}

// upright resamples the region of p holding the bars of f so that they
// stand upright: rows of the result cross the bars. The region is the
// agreeing tiles' extent, widened for the quiet zones and the tiles the
// threshold missed. nil when there is no such region.
func upright(p *plane, f barField) *plane {
	if !f.ok {
		return nil
	}
	sin, cos := math.Sincos(f.angle)
	// u runs across the bars, v along them.
	var us, vs []float64
	var cx, cy, wsum float64
	for _, t := range f.tiles {
		if angleDiff(t.angle, f.angle) > angleTolerance {
			continue
		}
		cx += t.x * t.weight
		cy += t.y * t.weight
		wsum += t.weight
		us = append(us, t.x*cos+t.y*sin)
		vs = append(vs, -t.x*sin+t.y*cos)
	}
	if len(us) < minBarTiles {
		return nil
	}
	sort.Float64s(us)
	sort.Float64s(vs)
	// The 5th to 95th percentile: a few stray tiles (text, an edge of the
	// phone) do not stretch the region across the frame.
	lo, hi := len(us)*5/100, len(us)*95/100
	u0, u1 := us[lo]-tileSide, us[min(hi, len(us)-1)]+tileSide
	v0, v1 := vs[lo]-tileSide, vs[min(hi, len(vs)-1)]+tileSide
	// Quiet zones and end bars: a fifth of the code's width on each side.
	qu := (u1 - u0) / 5
	u0, u1 = u0-qu-tileSide, u1+qu+tileSide
	w, h := int(u1-u0), int(v1-v0)
	if w < 32 || h < 8 {
		return nil
	}
	// Bounded: never more pixels than the frame itself.
	if w*h > p.w*p.h {
		return nil
	}
	r := newPlane(w, h, nil)
	// Source position of (u, v) is (u cos − v sin, u sin + v cos), stepped
	// in 16.16 fixed point along each output row.
	const one = 1 << 16
	dxu, dyu := int64(cos*one), int64(sin*one)
	for Y := 0; Y < h; Y++ {
		v := v0 + float64(Y) + 0.5
		sx := int64(((u0+0.5)*cos - v*sin) * one)
		sy := int64(((u0+0.5)*sin + v*cos) * one)
		dst := r.row(Y)
		for X := range dst {
			dst[X] = bilinear(p, sx, sy)
			sx += dxu
			sy += dyu
		}
	}
	return r
}

// bilinear samples p at a 16.16 fixed-point position, the edge pixels
// extended beyond the frame.
func bilinear(p *plane, sx, sy int64) byte {
	sx -= 1 << 15 // pixel centres
	sy -= 1 << 15
	x, y := int(sx>>16), int(sy>>16)
	fx, fy := uint32(sx&0xffff)>>8, uint32(sy&0xffff)>>8
	x0, x1 := clampInt(x, p.w), clampInt(x+1, p.w)
	y0, y1 := clampInt(y, p.h), clampInt(y+1, p.h)
	a, b := p.pix[y0*p.stride:], p.pix[y1*p.stride:]
	top := uint32(a[x0])*(256-fx) + uint32(a[x1])*fx
	bot := uint32(b[x0])*(256-fx) + uint32(b[x1])*fx
	return byte((top*(256-fy) + bot*fy + 1<<15) >> 16)
}

func clampInt(v, n int) int {
	return min(max(v, 0), n-1)
}
