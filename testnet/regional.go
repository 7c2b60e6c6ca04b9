package testnet

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"strings"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/node"
)

// ScenarioRegulation has the region follow a regulation signal (see
// RegulationConfig) with the capacity it offered, scored as PJM scores
// a regulation resource.
const ScenarioRegulation = "regulation"

// RegulationConfig is the regulation scenario's signal and offer.
type RegulationConfig struct {
	// Values are the signal's values in [-1, 1], one per Step, from the
	// scenario's start; they repeat if the run is longer. Empty: a
	// deterministic RegD-like signal from the run's seed (GenerateRegD).
	Values []float64
	// Step is the time between values (0: DefaultRegulationStep).
	Step time.Duration
	// PerHomeW is the regulation capacity the region offers, per home
	// (0: DefaultRegulationPerHomeW): the signal asks value × PerHomeW ×
	// Homes less import than the baseline.
	PerHomeW gridmesh.W
}

const (
	// DefaultRegulationStep is RegD's: PJM sends it every 2 s.
	DefaultRegulationStep = 2 * time.Second
	// DefaultRegulationPerHomeW: a fifth of a simulated home's 5 kW
	// battery. At the evening peak a home's battery already discharges
	// 1-2 kW to hold the feeder target, leaving 3-4 kW up and 6-7 kW
	// down: 1 kW each way keeps the whole offer inside every
	// neighborhood's capacity with room for the households' swings.
	DefaultRegulationPerHomeW gridmesh.W = 1000
	// pjmStep is PJM's scoring sample period.
	pjmStep = 10 * time.Second
	// regulationLead is when the regulation starts, at most: the homes
	// have their first plans within a few seconds of the start and
	// leaders gossip their first aggregates within one aggregate period
	// (5 s) of leading; 20 s leaves room for both on a loaded machine.
	regulationLead = 20 * time.Second
	// regulationGrace keeps the regulation signal's window open past the
	// run's end, so its last steps are in force until the homes stop.
	regulationGrace = 30 * time.Second
	// publishTimeout bounds one signal's publication through a home.
	publishTimeout = 2 * time.Second
)

// regional is a run's grid operator: its key, the signals it sent, and
// what the region did with them. It is owned by the run's goroutine.
type regional struct {
	priv ed25519.PrivateKey
	seq  uint64 // the last Seq signed

	cut    *gridmesh.Signal // the dr scenario's cut, once sent
	shares map[gridmesh.NeighborhoodID]gridmesh.W

	// Regulation: the offer, the window and the value in force.
	regStart, regEnd time.Time // offsets from t0 as times
	offeredW         gridmesh.W
	value            float64
	valueSet         bool
	// fine are all samples after the first value (signal, response);
	// coarse the ones at pjmStep marks.
	fineSig, fineResp     []float64
	coarseSig, coarseResp []float64
	nextMark              time.Time
}

// newRegional makes the run's operator key and gives every home its
// public key and every neighborhood's membership key (aggregates are
// checked against them).
func newRegional(c *city) (*regional, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("operator key: %w", err)
	}
	keys := make(map[gridmesh.NeighborhoodID]ed25519.PublicKey, len(c.nbhds))
	for _, nb := range c.nbhds {
		keys[nb.id] = nb.key
	}
	for _, h := range c.homes {
		h.cfg.Mesh.Region.OperatorKeys = []ed25519.PublicKey{pub}
		h.cfg.Mesh.Region.NeighborhoodKeys = keys
	}
	return &regional{priv: priv, shares: make(map[gridmesh.NeighborhoodID]gridmesh.W)}, nil
}

// publish signs s with the next Seq and publishes it on the region topic
// through the first live home (any home relays: the signature is what
// counts).
func (r *run) publish(ctx context.Context, s gridmesh.Signal) (gridmesh.Signal, error) {
	g := r.region
	g.seq++
	s.Version, s.Region, s.Seq = gridmesh.WireVersion, r.cfg.Network, g.seq
	if err := s.Sign(g.priv); err != nil {
		return s, err
	}
	for _, h := range r.c.homes {
		if !h.alive.Load() {
			continue
		}
		ctx, cancel := context.WithTimeout(ctx, publishTimeout)
		err := h.node.PublishSignal(ctx, s)
		cancel()
		return s, err
	}
	return s, fmt.Errorf("no live home to publish signal %s through", s.ID)
}

// drEvents publish a signed cut of DRCutPerHomeW per home for the middle
// third of the run; the neighborhoods split it among themselves.
func (r *run) drEvents() []event {
	d := r.cfg.Duration
	return []event{
		{at: d / 3, name: "dr start", do: func(ctx context.Context, now time.Time) {
			sig, err := r.publish(ctx, gridmesh.Signal{
				ID: "dr-1", Kind: gridmesh.SignalCutImport,
				StartMs: now.UnixMilli(), EndMs: r.t0.Add(2 * d / 3).UnixMilli(),
				AmountW: r.cfg.DRCutPerHomeW * gridmesh.W(r.cfg.Homes),
			})
			if err != nil {
				r.errors = append(r.errors, fmt.Sprintf("dr: %v", err))
				return
			}
			r.region.cut = &sig
			r.regionalChange(node.RegionalSeq(sig.Seq, false), now)
		}},
		{at: 2 * d / 3, name: "dr end", do: func(_ context.Context, now time.Time) {
			if s := r.region.cut; s != nil {
				r.regionalChange(node.RegionalSeq(s.Seq, true), now)
			}
		}},
	}
}

// regionalChange starts timing a regional change reaching every live home
// (plans then carry the neighborhood's Seq plus seq) and restarts the
// feeders' settling.
func (r *run) regionalChange(seq uint64, now time.Time) {
	for k, nb := range r.c.nbhds {
		r.rec.targetChanged(nb.id, nb.target.Seq+seq, now, homeIDs(nb.live()))
		r.meters[k].targetChanged(now)
	}
}

// regulationEvents publish one signed step per value step from the
// regulation's start to the run's end.
func (r *run) regulationEvents() []event {
	cfg := r.cfg.Regulation
	step := cmpOr(cfg.Step, DefaultRegulationStep)
	perHome := cmpOr(cfg.PerHomeW, DefaultRegulationPerHomeW)
	d := r.cfg.Duration
	start := min(regulationLead, d/4)
	values := cfg.Values
	if len(values) == 0 {
		values = GenerateRegD(r.cfg.Seed, step, int((d-start)/step)+1)
	}
	g := r.region
	g.regStart, g.regEnd = r.t0.Add(start), r.t0.Add(d+regulationGrace)
	g.offeredW = perHome * gridmesh.W(r.cfg.Homes)
	var evs []event
	for k := 0; start+time.Duration(k)*step < d; k++ {
		v := values[k%len(values)]
		evs = append(evs, event{at: start + time.Duration(k)*step, name: "regulation step", do: func(ctx context.Context, _ time.Time) {
			_, err := r.publish(ctx, gridmesh.Signal{
				ID: "reg-1", Kind: gridmesh.SignalRegulation,
				StartMs: g.regStart.UnixMilli(), EndMs: g.regEnd.UnixMilli(),
				AmountW: g.offeredW, Value: v,
			})
			if err != nil {
				if len(r.errors) < 10 {
					r.errors = append(r.errors, fmt.Sprintf("regulation step %d: %v", k, err))
				}
				return
			}
			g.value, g.valueSet = v, true
		}})
	}
	return evs
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// sampleRegion reads every neighborhood leader's regional offset (the
// feeders track their target less it) and, during regulation, the
// region's response: feeder import below the baseline (the neighborhoods'
// own targets), relative to the capacity offered.
func (r *run) sampleRegion(now time.Time) {
	g := r.region
	var baseline, feeder gridmesh.W
	for k, nb := range r.c.nbhds {
		if leader := r.knownLeader(k); leader != nil {
			if st := leader.node.RegionBrief(); st != nil {
				nb.regionalW = st.OffsetW
				if st.ShareW > 0 {
					g.shares[nb.id] = st.ShareW
				}
			}
		}
		baseline += nb.target.ImportW
		for _, h := range nb.live() {
			feeder += h.dev.Snapshot().NetW
		}
	}
	if !g.valueSet || g.offeredW == 0 {
		return
	}
	resp := float64(baseline-feeder) / float64(g.offeredW)
	r.series.regulation(g.value, resp)
	g.fineSig, g.fineResp = append(g.fineSig, g.value), append(g.fineResp, resp)
	if g.nextMark.IsZero() {
		g.nextMark = now
	}
	if !now.Before(g.nextMark) {
		g.coarseSig, g.coarseResp = append(g.coarseSig, g.value), append(g.coarseResp, resp)
		g.nextMark = g.nextMark.Add(pjmStep)
	}
}

// knownLeader returns the live home neighborhood k's meter saw lead at
// its last sample (asking every home again would double the sampling's
// cost), or the leader found now.
func (r *run) knownLeader(k int) *home {
	nb := r.c.nbhds[k]
	for _, h := range nb.homes {
		if h.id == r.meters[k].leader && h.alive.Load() {
			return h
		}
	}
	h, _ := leaderOf(nb)
	return h
}

// RegulationReport is what the regulation scenario measured.
type RegulationReport struct {
	// OfferedW is the capacity the region offered and was asked to
	// follow the signal with.
	OfferedW gridmesh.W `json:"offered_w"`
	// Samples is how many 10 s samples were scored.
	Samples int `json:"samples"`
	// Precision and MeanAbsError compare the response with the signal at
	// every sample (SamplePeriod), not only at the 10 s ones: they mean
	// something in runs too short for a PJM score.
	Precision    float64 `json:"precision"`
	MeanAbsError float64 `json:"mean_abs_error"`
	// PJMScoreError says why there is no pjm_score (a run shorter than
	// the 10 minutes of samples PJM's scoring needs).
	PJMScoreError string `json:"pjm_score_error,omitempty"`
}

// reportRegion adds the regional figures: each neighborhood's share of
// the last signal it carried, the signals refused, and the regulation
// score. Call it after the homes stopped.
func (r *run) reportRegion(rep *Report) {
	g := r.region
	for i := range rep.Neighborhood {
		rep.Neighborhood[i].RegionalShareW = g.shares[rep.Neighborhood[i].ID]
	}
	if rep.SignalsRejected == nil {
		rep.SignalsRejected = map[string]uint64{}
	}
	agg := &rep.RegionAggregates
	agg.Homes = len(r.c.homes)
	for _, h := range r.c.homes {
		var copies uint64
		for _, st := range h.runs {
			if st.Region != nil {
				copies += st.Region.AggregateCopies
			}
		}
		agg.Copies += copies
		agg.CopiesMax = max(agg.CopiesMax, copies)
		if copies > 0 {
			agg.HomesReceiving++
		}
	}
	for _, h := range r.c.homes {
		for _, st := range h.runs { // every run: churn restarts homes
			if st.Region == nil {
				continue
			}
			for reason, v := range st.Region.Rejections {
				if v == 0 {
					continue
				}
				if s, ok := strings.CutPrefix(reason, "signal/"); ok {
					rep.SignalsRejected[s] += v
				} else {
					rep.RejectedMessages["region/"+reason] += v
				}
			}
		}
	}
	if g.offeredW == 0 {
		return
	}
	reg := &RegulationReport{OfferedW: g.offeredW, Samples: len(g.coarseSig)}
	var absSig, absErr float64
	for i, s := range g.fineSig {
		absSig += math.Abs(s)
		absErr += math.Abs(g.fineResp[i] - s)
	}
	if n := float64(len(g.fineSig)); n > 0 && absSig > 0 {
		reg.MeanAbsError = absErr / n
		reg.Precision = max(0, 1-absErr/absSig)
	}
	sc, err := ScorePJM(g.coarseSig, g.coarseResp, pjmStep)
	if err != nil {
		reg.PJMScoreError = err.Error()
	} else {
		rep.PJMScore = &sc
	}
	rep.Regulation = reg
}

// GenerateRegD returns n values of a deterministic RegD-like signal, one
// per step, in [-1, 1]. PJM's RegD is a fast, energy-neutral signal: the
// area control error high-pass filtered, moving through its whole range
// within minutes and averaging near zero over 15. The stand-in is three
// sines (periods 300 s, 97 s and 41 s; amplitudes 0.45, 0.3 and 0.15;
// phases drawn from seed) plus a slow random walk (AR(1), φ = 0.95,
// σ = 0.04 per step, from seed), clamped to [-1, 1]: the same seed and
// step give the same values.
func GenerateRegD(seed int64, step time.Duration, n int) []float64 {
	rng := mrand.New(mrand.NewPCG(uint64(seed), 0x72656764)) // "regd"
	phase := [3]float64{rng.Float64() * 2 * math.Pi, rng.Float64() * 2 * math.Pi, rng.Float64() * 2 * math.Pi}
	periods := [3]float64{300, 97, 41}
	amps := [3]float64{0.45, 0.3, 0.15}
	out := make([]float64, n)
	var walk float64
	for k := range out {
		t := float64(k) * step.Seconds()
		v := walk
		for i := range periods {
			v += amps[i] * math.Sin(2*math.Pi*t/periods[i]+phase[i])
		}
		out[k] = max(-1, min(1, v))
		walk = 0.95*walk + 0.04*rng.NormFloat64()
	}
	return out
}
