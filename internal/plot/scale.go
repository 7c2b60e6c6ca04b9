package plot

import (
	"math"
	"strconv"
	"strings"
)

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Extent returns the least and greatest finite value over every series,
// and false when there is none (every series empty or all gaps).
func Extent(series ...[]float64) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, v := range s {
			if finite(v) {
				lo, hi, ok = min(lo, v), max(hi, v), true
			}
		}
	}
	if !ok {
		return 0, 0, false
	}
	return lo, hi, true
}

// Scale maps a domain [D0, D1] linearly onto a range [R0, R1] (pixels;
// R0 > R1 for a y axis, which grows downwards in SVG).
type Scale struct {
	D0, D1 float64
	R0, R1 float64
}

// Map returns where v falls in the range. A domain of zero width maps
// everything to the range's middle.
func (s Scale) Map(v float64) float64 {
	if s.D1 == s.D0 {
		return (s.R0 + s.R1) / 2
	}
	return s.R0 + (v-s.D0)/(s.D1-s.D0)*(s.R1-s.R0)
}

// NiceTicks returns tick values covering [lo, hi] at a "nice" step (1, 2
// or 5 times a power of ten) such that there are about n of them: the
// first tick is at or below lo and the last at or above hi, so the axis
// spans from the first to the last (Heckbert, "Nice numbers for graph
// labels", Graphics Gems, 1990). A zero-width interval is widened (by
// 10% of its magnitude, or to [-1, 1] around 0); non-finite bounds give
// no ticks.
func NiceTicks(lo, hi float64, n int) []float64 {
	if !finite(lo) || !finite(hi) {
		return nil
	}
	n = max(n, 2)
	if lo > hi {
		lo, hi = hi, lo
	}
	if lo == hi {
		d := math.Abs(lo) / 10
		if d == 0 {
			d = 1
		}
		lo, hi = lo-d, hi+d
	}
	// Heckbert first rounds the range up to a nice number, which can
	// leave a third of the axis empty (0-30 drawn 0-40); the step alone
	// rounded to the nearest nice number keeps the axis tight.
	step := niceNum((hi-lo)/float64(n-1), true)
	first, last := math.Floor(lo/step), math.Ceil(hi/step)
	if last-first > 1000 { // cannot happen with a nice step; bound it anyway
		return []float64{lo, hi}
	}
	dec := TickDecimals(step)
	ticks := make([]float64, 0, int(last-first)+1)
	for k := first; k <= last; k++ {
		v := roundTo(k*step, dec)
		if v == 0 {
			v = 0 // no -0
		}
		ticks = append(ticks, v)
	}
	return ticks
}

// niceNum returns a nice number near x (x > 0): 1, 2, 5 or 10 times a
// power of ten, the nearest (round) or the least not below x.
func niceNum(x float64, round bool) float64 {
	exp := math.Floor(math.Log10(x))
	f := x / math.Pow(10, exp)
	var nf float64
	switch {
	case round && f < 1.5, !round && f <= 1:
		nf = 1
	case round && f < 3, !round && f <= 2:
		nf = 2
	case round && f < 7, !round && f <= 5:
		nf = 5
	default:
		nf = 10
	}
	return nf * math.Pow(10, exp)
}

// TickDecimals is how many decimals the labels of ticks step apart need.
func TickDecimals(step float64) int {
	if !finite(step) || step <= 0 {
		return 0
	}
	return max(0, int(-math.Floor(math.Log10(step)+1e-9)))
}

func roundTo(v float64, dec int) float64 {
	p := math.Pow(10, float64(dec))
	return math.Round(v*p) / p
}

// FormatTick formats a tick label with dec decimals.
func FormatTick(v float64, dec int) string {
	return strconv.FormatFloat(v, 'f', dec, 64)
}

// Path returns an SVG path's d attribute through the points (xs[i],
// ys[i]) mapped by sx and sy; a point with a non-finite coordinate is a
// gap, where the line breaks. With step, the line holds each value until
// the next point (a staircase: a target that changes at instants).
// Points beyond the shorter slice are ignored. An empty string means no
// point was drawable.
func Path(xs, ys []float64, sx, sy Scale, step bool) string {
	var b strings.Builder
	pen := false // a segment is open
	for i := range min(len(xs), len(ys)) {
		if !finite(xs[i]) || !finite(ys[i]) {
			pen = false
			continue
		}
		x, y := sx.Map(xs[i]), sy.Map(ys[i])
		switch {
		case !pen:
			b.WriteByte('M')
		case step:
			b.WriteByte('H')
			b.WriteString(coord(x))
			b.WriteByte('V')
			b.WriteString(coord(y))
			continue
		default:
			b.WriteByte('L')
		}
		b.WriteString(coord(x))
		b.WriteByte(' ')
		b.WriteString(coord(y))
		pen = true
	}
	return b.String()
}

// coord formats a pixel coordinate to a tenth of a pixel.
func coord(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }
