package control_test

import (
	"math"
	mrand "math/rand/v2"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
)

// skillProfile generates days of a home's load and PV in 15-minute steps
// from midnight UTC of 8 January 2026, at 52° N, 0° E (seeded):
//
//   - load: 250 W base, a morning bump at 07:00 (Gaussian, σ 1 h) of
//     600 W and an evening bump at 19:00 (σ 1.5 h) of 1400 W, each scaled
//     per day by a factor drawn from [0.7, 1.3], plus Gaussian noise of
//     σ 60 W per step (kettles, lights), never below 0;
//   - PV: a 3.5 kW flat array's clear-sky output (control.PVModel) times a
//     clearness drawn per day from [0.2, 0.9], times 1 + Gaussian noise of
//     σ 0.1 per step (passing clouds), never below 0.
//
// The shapes are those of examples/profiles-winter-day.csv; the day-to-day
// draws are what a forecast must live with.
func skillProfile(seed uint64, days int) (start time.Time, load, pv []control.Sample) {
	rng := mrand.New(mrand.NewPCG(seed, 14))
	start = time.Date(2026, 1, 8, 0, 0, 0, 0, time.UTC)
	model := control.PVModel{LatitudeDeg: 52, LongitudeDeg: 0, PeakW: 3500}
	bump := func(h, at, sigma float64) float64 { return math.Exp(-(h - at) * (h - at) / (2 * sigma * sigma)) }
	for d := range days {
		am, pm, clear := 0.7+0.6*rng.Float64(), 0.7+0.6*rng.Float64(), 0.2+0.7*rng.Float64()
		for k := range 96 {
			t := start.Add(time.Duration(d*96+k) * control.HistoryStep)
			h := float64(k) / 4
			l := 250 + 600*am*bump(h, 7, 1) + 1400*pm*bump(h, 19, 1.5) + 60*rng.NormFloat64()
			p := float64(model.ClearSkyW(t)) * clear * (1 + 0.1*rng.NormFloat64())
			load = append(load, control.Sample{AtMs: t.UnixMilli(), W: gridmesh.W(max(l, 0))})
			pv = append(pv, control.Sample{AtMs: t.UnixMilli(), W: gridmesh.W(max(p, 0))})
		}
	}
	return start, load, pv
}

// forecastSkills forecasts 24 h ahead from every sixth hour of days 4-13
// of a generated profile, with the history up to then (control.
// ForecastHomeHistory, the forecast an island's rationing makes), and
// returns the load's and the PV's skill against persistence (the last
// value held) over every forecast step.
func forecastSkills(seed uint64, model control.PVModel) (loadSkill, pvSkill float64) {
	return forecastSkillsWith(seed, model, 0, control.DefaultRationConfig())
}

// forecastSkillsWith is forecastSkills with the history cut to its
// newest history (0: all of it) and cfg's forecast: a young history is
// one of a leader that has watched its island for that long.
func forecastSkillsWith(seed uint64, model control.PVModel, history time.Duration, cfg control.RationConfig) (loadSkill, pvSkill float64) {
	_, load, pv := skillProfile(seed, 14)
	var la, lf, lp, pa, pf, pp []float64
	for origin := 3 * 96; origin+96 <= len(load); origin += 24 {
		from := 0
		if history > 0 {
			from = origin - int(history/control.HistoryStep)
		}
		_, fc, err := control.ForecastHomeHistory(load[from:origin], pv[from:origin], model, 24*time.Hour, cfg)
		if err != nil {
			panic(err)
		}
		for i := range 96 {
			la, lf, lp = append(la, float64(load[origin+i].W)), append(lf, float64(fc.CriticalW[i])), append(lp, float64(load[origin-1].W))
			pa, pf, pp = append(pa, float64(pv[origin+i].W)), append(pf, float64(fc.PVW[i])), append(pp, float64(pv[origin-1].W))
		}
	}
	return control.ForecastSkill(la, lf, lp), control.ForecastSkill(pa, pf, pp)
}

// BenchmarkForecastSkill reports the 24 h forecast's skill against
// persistence on generated profiles (skillProfile), with the clear-sky PV
// model placed and sized right (pv_skill) and without it (PV from the
// same hours of recent days: pv_skill_no_model).
func BenchmarkForecastSkill(b *testing.B) {
	model := control.PVModel{LatitudeDeg: 52, LongitudeDeg: 0, PeakW: 3500}
	var l, p, pn float64
	for i := 0; b.Loop(); i++ {
		l, p = forecastSkills(uint64(i%8+1), model)
		_, pn = forecastSkills(uint64(i%8+1), control.PVModel{})
	}
	b.ReportMetric(l, "load_skill")
	b.ReportMetric(p, "pv_skill")
	b.ReportMetric(pn, "pv_skill_no_model")
}

// BenchmarkForecastSkillYoung reports the load forecast's skill against
// persistence with a young history (2 h, 6 h, 12 h and a day before each
// origin; 3d: the three days ForecastLoad averages), with the prior
// (control.RationConfig.LoadPrior) and without it (the guess: the larger
// of the mean and the last sample), over the same origins as
// BenchmarkForecastSkill.
func BenchmarkForecastSkillYoung(b *testing.B) {
	model := control.PVModel{LatitudeDeg: 52, LongitudeDeg: 0, PeakW: 3500}
	ages := []struct {
		name string
		d    time.Duration
	}{{"2h", 2 * time.Hour}, {"6h", 6 * time.Hour}, {"12h", 12 * time.Hour}, {"1d", 24 * time.Hour}, {"3d", 72 * time.Hour}}
	with, without := control.DefaultRationConfig(), control.DefaultRationConfig()
	without.LoadPrior = false
	sums := make([][2]float64, len(ages))
	n := 0
	for i := 0; b.Loop(); i++ {
		for a, age := range ages {
			p, _ := forecastSkillsWith(uint64(i%8+1), model, age.d, with)
			g, _ := forecastSkillsWith(uint64(i%8+1), model, age.d, without)
			sums[a][0] += p
			sums[a][1] += g
		}
		n++
	}
	for a, age := range ages {
		b.ReportMetric(sums[a][0]/float64(n), "load_skill_prior_"+age.name)
		b.ReportMetric(sums[a][1]/float64(n), "load_skill_guess_"+age.name)
	}
}

// With two hours of history the prior forecasts the day's load better
// than the guess does, and better than persistence.
func TestPriorBeatsTheGuess(t *testing.T) {
	model := control.PVModel{LatitudeDeg: 52, LongitudeDeg: 0, PeakW: 3500}
	with, without := control.DefaultRationConfig(), control.DefaultRationConfig()
	without.LoadPrior = false
	p, _ := forecastSkillsWith(1, model, 2*time.Hour, with)
	g, _ := forecastSkillsWith(1, model, 2*time.Hour, without)
	t.Logf("two hours of history: load skill %.3f with the prior, %.3f guessed", p, g)
	if !(p > g) || !(p > 0) {
		t.Errorf("two hours of history: load skill %.3f with the prior, %.3f guessed; want the prior above both the guess and 0", p, g)
	}
}

// The forecast beats persistence on the generated profiles, load and PV.
func TestForecastBeatsPersistence(t *testing.T) {
	l, p := forecastSkills(1, control.PVModel{LatitudeDeg: 52, LongitudeDeg: 0, PeakW: 3500})
	t.Logf("load skill %.3f, PV skill %.3f", l, p)
	if !(l > 0) || !(p > 0) {
		t.Errorf("skill against persistence: load %.3f, PV %.3f; want both above 0", l, p)
	}
}

func TestForecastSkillByHand(t *testing.T) {
	actual := []float64{1, 2, 3}
	if s := control.ForecastSkill(actual, actual, []float64{0, 0, 0}); s != 1 {
		t.Errorf("perfect forecast: skill %v, want 1", s)
	}
	if s := control.ForecastSkill(actual, []float64{0, 0, 0}, []float64{0, 0, 0}); s != 0 {
		t.Errorf("forecast = persistence: skill %v, want 0", s)
	}
	if s := control.ForecastSkill(actual, actual, actual); !math.IsNaN(s) {
		t.Errorf("perfect persistence: skill %v, want NaN", s)
	}
}
