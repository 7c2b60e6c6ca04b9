package control

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gridmesh/gridmesh"
)

// ErrBadForecast is wrapped by every forecast input error.
var ErrBadForecast = errors.New("control: bad forecast input")

// Sample is a power measured or forecast at one instant.
type Sample struct {
	// AtMs is when, in Unix milliseconds.
	AtMs int64
	// W is the power then.
	W gridmesh.W
}

// SolarElevation returns the sun's elevation above the horizon, in
// degrees, at t for a place at latDeg north and lonDeg east. It uses
// Spencer's (1971) Fourier series for the declination and the equation of
// time, as NOAA's general solar position notes do: within about half a
// degree (the series ignores where the year falls in the leap cycle),
// far inside what a clear-sky PV model needs.
func SolarElevation(t time.Time, latDeg, lonDeg float64) float64 {
	u := t.UTC()
	hour := float64(u.Hour()) + float64(u.Minute())/60 + (float64(u.Second())+float64(u.Nanosecond())/1e9)/3600
	g := 2 * math.Pi / 365 * (float64(u.YearDay()-1) + (hour-12)/24) // fractional year, radians
	eot := 229.18 * (0.000075 + 0.001868*math.Cos(g) - 0.032077*math.Sin(g) -
		0.014615*math.Cos(2*g) - 0.040849*math.Sin(2*g)) // minutes
	decl := 0.006918 - 0.399912*math.Cos(g) + 0.070257*math.Sin(g) - 0.006758*math.Cos(2*g) +
		0.000907*math.Sin(2*g) - 0.002697*math.Cos(3*g) + 0.00148*math.Sin(3*g) // radians
	solarMin := hour*60 + eot + 4*lonDeg // true solar time, minutes
	ha := (solarMin/4 - 180) * math.Pi / 180
	lat := latDeg * math.Pi / 180
	sinEl := math.Sin(lat)*math.Sin(decl) + math.Cos(lat)*math.Cos(decl)*math.Cos(ha)
	return math.Asin(max(-1, min(1, sinEl))) * 180 / math.Pi
}

// ClearSkyGHI returns the global horizontal irradiance under a clear sky,
// in W/m², with the sun elevationDeg above the horizon: Haurwitz's model
// (1945), GHI = 1098·cos z·exp(-0.059/cos z) for zenith z, and 0 with the
// sun down. It needs no atmospheric data and is within about 10% of
// measured clear-sky irradiance at mid latitudes, which the clearness
// ratio absorbs.
func ClearSkyGHI(elevationDeg float64) float64 {
	cosZ := math.Sin(elevationDeg * math.Pi / 180)
	if !(cosZ > 0) {
		return 0
	}
	return 1098 * cosZ * math.Exp(-0.059/cosZ)
}

// PVModel is a PV array (or the sum of a neighborhood's) for forecasts.
type PVModel struct {
	// LatitudeDeg (north) and LongitudeDeg (east) place the array.
	LatitudeDeg, LongitudeDeg float64
	// PeakW is the output at 1000 W/m².
	PeakW gridmesh.W
}

// Validate checks the place and the peak.
func (m PVModel) Validate() error {
	if !(m.LatitudeDeg >= -90 && m.LatitudeDeg <= 90) || !(m.LongitudeDeg >= -180 && m.LongitudeDeg <= 180) {
		return fmt.Errorf("%w: PV at latitude %v, longitude %v", ErrBadForecast, m.LatitudeDeg, m.LongitudeDeg)
	}
	if !m.PeakW.Finite() || m.PeakW < 0 || m.PeakW > gridmesh.MaxNeighborhoodPowerW {
		return fmt.Errorf("%w: PV peak %v", ErrBadForecast, m.PeakW)
	}
	return nil
}

// ClearSkyW returns the array's output at t under a clear sky: PeakW
// times the clear-sky irradiance over 1000 W/m². The array is modelled
// flat; its tilt and orientation are learnt by Clearness along with the
// clouds. An invalid model gives 0.
func (m PVModel) ClearSkyW(t time.Time) gridmesh.W {
	if m.Validate() != nil {
		return 0
	}
	return m.PeakW * gridmesh.W(ClearSkyGHI(SolarElevation(t, m.LatitudeDeg, m.LongitudeDeg))/1000)
}

const (
	// minClearSkyFraction: samples whose clear-sky output is under 10% of
	// peak (dawn, dusk, night) are left out of Clearness: at low sun
	// diffuse light, horizon and array angle dominate and the ratio is
	// noise.
	minClearSkyFraction = 0.1
	// maxClearness caps the clearness ratio at 3: it is 0-1 for clouds
	// alone, but it also absorbs the array's tilt (a south-facing array in
	// a northern winter gets twice the horizontal irradiance, or more) and
	// brief cloud-edge enhancement; beyond 3 a sample is wrong.
	maxClearness = 3.0
)

// Clearness returns the ratio of measured to clear-sky output over recent
// samples of the array's output (Σ measured / Σ clear-sky, over samples
// whose clear-sky output is at least 10% of peak), capped at 3, and false
// when no sample counts. Samples that are not finite or are negative are
// skipped.
func (m PVModel) Clearness(recent []Sample) (float64, bool) {
	if m.Validate() != nil || m.PeakW == 0 {
		return 0, false
	}
	var measured, clear gridmesh.W
	for _, s := range recent {
		cs := m.ClearSkyW(time.UnixMilli(s.AtMs))
		if !s.W.Finite() || s.W < 0 || cs < minClearSkyFraction*m.PeakW {
			continue
		}
		measured += s.W
		clear += cs
	}
	if clear == 0 {
		return 0, false
	}
	return min(float64(measured/clear), maxClearness), true
}

// ForecastPV returns the array's expected output at t: its clear-sky
// output scaled by clearness (from Clearness; a caller with none might
// pass 1 for a bright guess or a seasonal mean for a fair one).
func (m PVModel) ForecastPV(t time.Time, clearness float64) gridmesh.W {
	if math.IsNaN(clearness) || clearness < 0 {
		return 0
	}
	return m.ClearSkyW(t) * gridmesh.W(min(clearness, maxClearness))
}

// ForecastLoad returns the load expected at t: for each of the last days
// days, the mean of the samples within ±slot/2 of the same time that day
// (t − k·24 h), then the mean over the days that have any, so that a day
// sampled more often weighs no more. It returns false when no day has a
// sample. Days are 24 h apart, so on the day after a daylight-saving
// change the slot is an hour off local time. Samples that are not finite
// are skipped; they need not be sorted.
func ForecastLoad(samples []Sample, t time.Time, days int, slot time.Duration) (gridmesh.W, bool) {
	if days <= 0 || slot <= 0 {
		return 0, false
	}
	var sum gridmesh.W
	counted := 0
	for k := 1; k <= days; k++ {
		mid := t.Add(-time.Duration(k) * 24 * time.Hour)
		lo, hi := mid.Add(-slot/2).UnixMilli(), mid.Add(slot/2).UnixMilli()
		var daySum gridmesh.W
		n := 0
		for _, s := range samples {
			if s.AtMs >= lo && s.AtMs < hi && s.W.Finite() {
				daySum += s.W
				n++
			}
		}
		if n > 0 {
			sum += daySum / gridmesh.W(n)
			counted++
		}
	}
	if counted == 0 {
		return 0, false
	}
	return sum / gridmesh.W(counted), true
}

// maxForecastSteps bounds the samples ForecastNet makes (10,000: two days
// at 20 s), so that a wrong step cannot make a leader allocate without
// bound.
const maxForecastSteps = 10_000

// ForecastNet returns the forecast net import with batteries idle, load
// minus PV, at from, from+step, ... up to (not including) to: load from
// ForecastLoad over the last days days in slots of step, PV from
// pv.ForecastPV with clearness. A slot with no load history takes the
// mean of all finite load samples (0 with none). It fails when step is
// not positive, to is not after from, or more than 10,000 steps are
// asked for.
func ForecastNet(pv PVModel, clearness float64, load []Sample, days int, from, to time.Time, step time.Duration) ([]Sample, error) {
	if step <= 0 || !to.After(from) || to.Sub(from)/step >= maxForecastSteps {
		return nil, fmt.Errorf("%w: forecast from %v to %v in steps of %v (at most %d steps)", ErrBadForecast, from, to, step, maxForecastSteps)
	}
	var fallback gridmesh.W
	n := 0
	for _, s := range load {
		if s.W.Finite() {
			fallback += s.W
			n++
		}
	}
	if n > 0 {
		fallback /= gridmesh.W(n)
	}
	var out []Sample
	for t := from; t.Before(to); t = t.Add(step) {
		l, ok := ForecastLoad(load, t, days, step)
		if !ok {
			l = fallback
		}
		out = append(out, Sample{AtMs: t.UnixMilli(), W: l - pv.ForecastPV(t, clearness)})
	}
	return out, nil
}

// ReserveWindow is what a battery must do through a window ahead: keep
// the import at most AimW, and at least CutW below what it would be with
// the battery idle.
type ReserveWindow struct {
	// Start and End bound the window.
	Start, End time.Time
	// AimW is the most net import allowed: 0 to cover every deficit
	// (self-consumption through the evening peak), gridmesh.MaxHomePowerW
	// or more for no aim.
	AimW gridmesh.W
	// CutW is the least the battery delivers throughout, e.g. a demand
	// response share; 0 for none.
	CutW gridmesh.W
	// MaxDischargeW is the battery's most discharge power, as a positive
	// figure: energy it could not deliver in time needs no storing.
	MaxDischargeW gridmesh.W
	// Efficiency is the battery's discharge efficiency, in (0, 1]: stored
	// energy per delivered energy is 1/Efficiency.
	Efficiency float64
}

// Validate checks the window is non-empty and the figures are in range.
func (r ReserveWindow) Validate() error {
	switch {
	case !r.End.After(r.Start):
		return fmt.Errorf("%w: reserve window [%v, %v) is empty", ErrBadForecast, r.Start, r.End)
	case !r.AimW.Finite() && !math.IsInf(float64(r.AimW), 1):
		return fmt.Errorf("%w: aim %v", ErrBadForecast, r.AimW)
	case !r.CutW.Finite() || r.CutW < 0:
		return fmt.Errorf("%w: cut %v", ErrBadForecast, r.CutW)
	case !r.MaxDischargeW.Finite() || r.MaxDischargeW < 0:
		return fmt.Errorf("%w: discharge limit %v", ErrBadForecast, r.MaxDischargeW)
	case !(r.Efficiency > 0 && r.Efficiency <= 1):
		return fmt.Errorf("%w: efficiency %v outside (0, 1]", ErrBadForecast, r.Efficiency)
	}
	return nil
}

// ReserveAhead returns the energy a battery must hold at r.Start to do
// what r asks through the window, given a forecast of the net import with
// the battery idle (from ForecastNet, for one home or a neighborhood).
// The battery delivers at each instant
//
//	p(t) = min(max(net(t) − AimW, CutW, 0), MaxDischargeW)
//
// and the reserve is ∫ p dt / Efficiency over [Start, End). Each forecast
// sample holds until the next (the first also before it, the last until
// End); with no forecast, net is taken as 0. PV surplus inside the window
// is not counted on to recharge the battery: a cloud is enough to lose it,
// and the reserve is there for the case where things go wrong.
func ReserveAhead(forecast []Sample, r ReserveWindow) (gridmesh.Wh, error) {
	if err := r.Validate(); err != nil {
		return 0, err
	}
	fc := slices.Clone(forecast)
	fc = slices.DeleteFunc(fc, func(s Sample) bool { return !s.W.Finite() })
	slices.SortStableFunc(fc, func(a, b Sample) int { return cmp.Compare(a.AtMs, b.AtMs) })
	deliver := func(net gridmesh.W) gridmesh.W {
		return min(max(net-r.AimW, r.CutW, 0), r.MaxDischargeW)
	}
	if len(fc) == 0 {
		return gridmesh.Wh(float64(deliver(0)) * r.End.Sub(r.Start).Hours() / r.Efficiency), nil
	}
	var wh float64
	for i, s := range fc {
		lo, hi := r.Start, r.End
		if i > 0 {
			lo = later(lo, time.UnixMilli(s.AtMs))
		}
		if i+1 < len(fc) {
			hi = earlier(hi, time.UnixMilli(fc[i+1].AtMs))
		}
		if hi.After(lo) {
			wh += float64(deliver(s.W)) * hi.Sub(lo).Hours()
		}
	}
	return gridmesh.Wh(wh / r.Efficiency), nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
