package control

import (
	"math"
	"time"

	"github.com/gridmesh/gridmesh"
)

// A prior for a young history. The island's critical load forecast takes
// each step from the same time of recent days (ForecastLoad); a leader
// that has watched its island for two hours has no such day for most of
// the night ahead. Rather than guess (a flat level, which the energy rule
// will not act on), it forecasts those steps from a typical household's
// diurnal shape, scaled to the level the island's own samples show over
// the hours they cover (priorLevel). As the history grows, every step
// gets a same-time sample of its own and the prior drops out; until then
// its level follows every sample the history holds.

// h0Winter and h0Summer are a household's mean power by hour of the day
// (00:00-01:00 first), in watts per 1,000 kWh a year, in January and in
// July: the BDEW standard load profile H0 ("Haushalt", VDEW/BDEW,
// Repräsentative VDEW-Lastprofile, 1999; the profile German grid
// operators settle households on), its quarter-hour values with the
// profile's dynamisation, averaged over every day of the month (working
// days and weekends alike) and rounded to 1 W (docs/BENCHMARKS.md, "A
// prior for a young history", gives the table they were taken from).
// Only their shape is used: each is divided by its own mean
// (priorShape).
var (
	h0Winter = [24]float64{78, 58, 51, 49, 49, 56, 97, 138, 156, 160, 162, 171, 185, 177, 155, 140, 138, 169, 213, 236, 210, 174, 147, 111}
	h0Summer = [24]float64{61, 45, 40, 38, 39, 45, 69, 92, 107, 116, 117, 121, 132, 125, 108, 97, 93, 98, 113, 130, 131, 123, 114, 89}
)

// priorMinSamples is the fewest load samples (an hour at HistoryStep)
// from which the prior's level is taken; with fewer, steps without
// history stay guesses.
const priorMinSamples = 4

// priorLevelBound bounds the prior's level to within a factor of 2 of
// the history's plain mean: a few hours that sit on the shape's trough
// or peak, or an island whose evening differs from a household's, may
// not scale the night beyond it.
const priorLevelBound = 2.0

// priorShape is the prior's load at t relative to its daily mean, at
// mean solar time for longitude lonDeg east (local clock time within
// about an hour, without a time zone database), linearly between the
// hours' midpoints. Winter's shape from November to February north of
// the equator (May to August south), summer's from May to August (north),
// their mean in between.
func priorShape(t time.Time, latDeg, lonDeg float64) float64 {
	u := t.UTC().Add(time.Duration(lonDeg / 15 * float64(time.Hour)))
	m := u.Month()
	winter := 0.5
	switch m {
	case time.November, time.December, time.January, time.February:
		winter = 1
	case time.May, time.June, time.July, time.August:
		winter = 0
	}
	if latDeg < 0 {
		winter = 1 - winter
	}
	var mw, ms float64
	for i := range 24 {
		mw += h0Winter[i] / 24
		ms += h0Summer[i] / 24
	}
	at := func(hour int) float64 {
		hour = (hour%24 + 24) % 24
		return winter*h0Winter[hour]/mw + (1-winter)*h0Summer[hour]/ms
	}
	x := float64(u.Hour()) + float64(u.Minute())/60 + float64(u.Second())/3600 - 0.5 // from the hour's midpoint
	lo := math.Floor(x)
	f := x - lo
	return (1-f)*at(int(lo)) + f*at(int(lo)+1)
}

// priorLevel is the island's mean load the prior is scaled to: the
// history's load over the prior's shape at the same instants (Σ load /
// Σ shape), within a factor priorLevelBound of the history's plain mean;
// false with fewer than priorMinSamples finite samples.
func priorLevel(load []Sample, latDeg, lonDeg float64) (gridmesh.W, bool) {
	var sum, shape float64
	n := 0
	for _, s := range load {
		if !s.W.Finite() {
			continue
		}
		sum += float64(s.W)
		shape += priorShape(time.UnixMilli(s.AtMs), latDeg, lonDeg)
		n++
	}
	if n < priorMinSamples || !(shape > 0) {
		return 0, false
	}
	mean := sum / float64(n)
	return gridmesh.W(min(max(sum/shape, mean/priorLevelBound), mean*priorLevelBound)), true
}
