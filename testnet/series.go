package testnet

import (
	"math"
	"slices"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices/sim"
)

// Series are a run's time series, for plots (the HTML report draws them;
// see WriteHTML). Times are seconds into the run, from the moment the
// last home listened (the scenarios' clock). Points are taken at every
// sample of the run, or at every k-th when the run is long enough to
// exceed maxSeriesPoints: a point is a sample, not a mean.
type Series struct {
	// PeriodS is the time between points, in seconds.
	PeriodS float64 `json:"period_s"`
	// TS is each point's time, in seconds.
	TS []float64 `json:"t_s"`
	// Neighborhood: each neighborhood's feeder against its target, and
	// its leaders.
	Neighborhood []NeighborhoodSeries `json:"neighborhood"`
	// SoCMinPct, SoCMedianPct and SoCMaxPct: the least, median and
	// greatest state of charge of the live homes' batteries at each
	// point, in percent; -1 where no battery was live.
	SoCMinPct    []float64 `json:"soc_min_pct"`
	SoCMedianPct []float64 `json:"soc_median_pct"`
	SoCMaxPct    []float64 `json:"soc_max_pct"`
	// Events are the scenarios' events as they fired (regulation steps
	// left out: there is one every 2 s).
	Events []SeriesEvent `json:"events"`
	// Outage (outage scenario): each island while the grid was gone.
	Outage *OutageSeries `json:"outage,omitempty"`
	// Regulation (regulation scenario): the signal against the region's
	// response.
	Regulation *RegulationSeries `json:"regulation,omitempty"`
}

// NeighborhoodSeries is one neighborhood's feeder, target and leaders.
type NeighborhoodSeries struct {
	ID gridmesh.NeighborhoodID `json:"id"`
	// TargetW is the import the feeder was asked for at each point (its
	// target less its regional share), FeederW what it imported: the sum
	// of its live homes' meters.
	TargetW []float64 `json:"target_w"`
	FeederW []float64 `json:"feeder_w"`
	// Leaders: who led, from when to when, as the samples saw it (every
	// sample, not only the points); a gap is a time without a leader.
	Leaders []LeaderSpan `json:"leaders"`
	// Failover (leader-kill): when its leader was killed and when every
	// survivor had applied the new leader's plan (-1: never).
	Failover *FailoverMark `json:"failover,omitempty"`
}

// LeaderSpan is one stretch of one home's leadership.
type LeaderSpan struct {
	Leader gridmesh.HomeID `json:"leader"`
	Term   uint64          `json:"term"`
	FromS  float64         `json:"from_s"`
	ToS    float64         `json:"to_s"`
}

// FailoverMark times one leader kill, in seconds into the run.
type FailoverMark struct {
	KilledS float64 `json:"killed_s"`
	DoneS   float64 `json:"done_s"`
}

// SeriesEvent is a scenario event as it fired.
type SeriesEvent struct {
	AtS  float64 `json:"at_s"`
	Name string  `json:"name"`
}

// OutageSeries: the islands while the grid was gone, at the points
// taken then.
type OutageSeries struct {
	TS      []float64            `json:"t_s"`
	Feeders []OutageFeederSeries `json:"feeders"`
}

// OutageFeederSeries is one island: its frequency (0 while dark), and
// the non-critical load its homes shed and how many homes shed it.
type OutageFeederSeries struct {
	Name        string    `json:"name"`
	FrequencyHz []float64 `json:"frequency_hz"`
	ShedW       []float64 `json:"shed_w"`
	ShedHomes   []int     `json:"shed_homes"`
	// OffHomes counts its homes whose household load the island plan
	// has disconnected (gridmesh.ShedCritical); StoredKWh is its
	// batteries' energy.
	OffHomes  []int     `json:"off_homes"`
	StoredKWh []float64 `json:"stored_kwh"`
}

// RegulationSeries: the signal in force and the region's response, both
// relative to the capacity offered, at the points taken while the
// regulation ran.
type RegulationSeries struct {
	TS       []float64 `json:"t_s"`
	Signal   []float64 `json:"signal"`
	Response []float64 `json:"response"`
}

// maxSeriesPoints bounds the points of a run's series: a plot 860 pixels
// wide shows no more, and it keeps a long run's report (a regulation
// run of an hour at 100 ms samples would take 36,000) under a megabyte.
const maxSeriesPoints = 1500

// seriesRec records a run's series. It is owned by the run's goroutine:
// the homes never call it, so it needs no lock and slows no home.
type seriesRec struct {
	t0    time.Time
	every int // take one sample in every
	n     int // samples seen
	take  bool
	at    float64 // the current point's time, s
	s     Series
}

func newSeriesRec(cfg Config, t0 time.Time, nbhds []*neighborhood) *seriesRec {
	samples := int(cfg.Duration / cfg.SamplePeriod)
	every := max(1, int(math.Ceil(float64(samples)/maxSeriesPoints)))
	r := &seriesRec{t0: t0, every: every}
	r.s.PeriodS = (time.Duration(every) * cfg.SamplePeriod).Seconds()
	r.s.Events = []SeriesEvent{}
	for _, nb := range nbhds {
		r.s.Neighborhood = append(r.s.Neighborhood, NeighborhoodSeries{ID: nb.id, Leaders: []LeaderSpan{}})
	}
	return r
}

func (r *seriesRec) secs(t time.Time) float64 { return t.Sub(r.t0).Seconds() }

// begin starts a sample at now: whether it is a point, and its time.
func (r *seriesRec) begin(now time.Time) {
	r.take = r.n%r.every == 0
	r.n++
	r.at = r.secs(now)
	if r.take {
		r.s.TS = append(r.s.TS, r.at)
	}
}

// event records a scenario event.
func (r *seriesRec) event(name string, at time.Time) {
	if name == "regulation step" {
		return
	}
	r.s.Events = append(r.s.Events, SeriesEvent{AtS: r.secs(at), Name: name})
}

// feeder records neighborhood k's target, feeder and leader (empty when
// the sample saw none) at the current sample.
func (r *seriesRec) feeder(k int, target, feeder gridmesh.W, leader gridmesh.HomeID, term uint64) {
	ns := &r.s.Neighborhood[k]
	if r.take {
		ns.TargetW = append(ns.TargetW, float64(target))
		ns.FeederW = append(ns.FeederW, float64(feeder))
	}
	if leader == "" {
		return
	}
	if n := len(ns.Leaders); n > 0 && ns.Leaders[n-1].Leader == leader && ns.Leaders[n-1].Term == term && ns.Leaders[n-1].ToS >= r.at-2*r.s.PeriodS {
		ns.Leaders[n-1].ToS = r.at
		return
	}
	ns.Leaders = append(ns.Leaders, LeaderSpan{Leader: leader, Term: term, FromS: r.at, ToS: r.at})
}

// soc records the live homes' states of charge at a point.
func (r *seriesRec) soc(homes []*home) {
	if !r.take {
		return
	}
	var socs []float64
	for _, h := range homes {
		if h.alive.Load() && h.params.Battery.CapacityWh > 0 {
			socs = append(socs, 100*h.dev.Snapshot().SoC)
		}
	}
	lo, med, hi := math.NaN(), math.NaN(), math.NaN()
	if len(socs) > 0 {
		slices.Sort(socs)
		lo, med, hi = socs[0], socs[len(socs)/2], socs[len(socs)-1]
	}
	r.s.SoCMinPct = append(r.s.SoCMinPct, lo)
	r.s.SoCMedianPct = append(r.s.SoCMedianPct, med)
	r.s.SoCMaxPct = append(r.s.SoCMaxPct, hi)
}

// regulation records the signal in force and the response at a point.
func (r *seriesRec) regulation(signal, response float64) {
	if !r.take {
		return
	}
	if r.s.Regulation == nil {
		r.s.Regulation = &RegulationSeries{}
	}
	g := r.s.Regulation
	g.TS, g.Signal, g.Response = append(g.TS, r.at), append(g.Signal, signal), append(g.Response, response)
}

// outage records every island at a point taken while the grid is gone;
// names are the islands' names, snaps their live homes' snapshots.
func (r *seriesRec) outage(names []string, hz []float64, snaps [][]sim.HomeSnapshot) {
	if !r.take {
		return
	}
	if r.s.Outage == nil {
		r.s.Outage = &OutageSeries{}
		for _, n := range names {
			r.s.Outage.Feeders = append(r.s.Outage.Feeders, OutageFeederSeries{Name: n})
		}
	}
	o := r.s.Outage
	o.TS = append(o.TS, r.at)
	for i := range o.Feeders {
		f := &o.Feeders[i]
		var shedW, storedWh float64
		shed, off := 0, 0
		for _, s := range snaps[i] {
			if s.Shed {
				shed++
				shedW += float64(max(s.NonCriticalW, 0))
			}
			if s.CriticalOff {
				off++
			}
			storedWh += float64(s.StoredWh)
		}
		f.FrequencyHz, f.ShedW, f.ShedHomes = append(f.FrequencyHz, hz[i]), append(f.ShedW, shedW), append(f.ShedHomes, shed)
		f.OffHomes, f.StoredKWh = append(f.OffHomes, off), append(f.StoredKWh, storedWh/1000)
	}
}

// failover marks neighborhood k's leader kill.
func (r *seriesRec) failover(k int, killedAt, doneAt time.Time) {
	m := &FailoverMark{KilledS: r.secs(killedAt), DoneS: -1}
	if !doneAt.IsZero() {
		m.DoneS = r.secs(doneAt)
	}
	r.s.Neighborhood[k].Failover = m
}

// series returns the recorded series. A point at which no battery was
// live has a state of charge of -1, which none is: JSON holds no NaN.
func (r *seriesRec) series() *Series {
	s := r.s
	for _, xs := range [][]float64{s.SoCMinPct, s.SoCMedianPct, s.SoCMaxPct} {
		for i, v := range xs {
			if math.IsNaN(v) {
				xs[i] = -1
			}
		}
	}
	return &s
}
