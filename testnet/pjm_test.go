package testnet_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/testnet"
)

const tenS = 10 * time.Second

// randomSignal is n samples drawn independently from [-1, 1]: it
// decorrelates from itself at any lag, so the lag PJM's scoring picks is
// the true one.
func randomSignal(rng *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = rng.Float64()*2 - 1
	}
	return s
}

func scaled(x []float64, k, add float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = k*v + add
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9 }

func checkScore(t *testing.T, got, want testnet.PJMScore) {
	t.Helper()
	if !near(got.Accuracy, want.Accuracy) || !near(got.Delay, want.Delay) || !near(got.Precision, want.Precision) || !near(got.Composite, want.Composite) {
		t.Errorf("score %+v, want %+v", got, want)
	}
}

func mustScore(t *testing.T, signal, response []float64) testnet.PJMScore {
	t.Helper()
	sc, err := testnet.ScorePJM(signal, response, tenS)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// An hour and five minutes at 10 s, the period PJM scores an hour over.
const hourPlus = 390

func TestPJMScoreIdentical(t *testing.T) {
	sig := randomSignal(rand.New(rand.NewPCG(1, 1)), hourPlus)
	checkScore(t, mustScore(t, sig, sig), testnet.PJMScore{Accuracy: 1, Delay: 1, Precision: 1, Composite: 1})
}

func TestPJMScoreDelayed60s(t *testing.T) {
	// The response is the signal 6 samples (60 s) late, ±1 values so the
	// precision is a count: each sample that differs from the one 60 s
	// before it is an error of 2 against a mean magnitude of 1.
	rng := rand.New(rand.NewPCG(2, 2))
	sig := make([]float64, hourPlus)
	for i := range sig {
		sig[i] = float64(1 - 2*rng.IntN(2))
	}
	resp := make([]float64, hourPlus)
	differ := 0
	for i := range resp {
		resp[i] = sig[max(i-6, 0)]
		if resp[i] != sig[i] {
			differ++
		}
	}
	precision := 1 - 2*float64(differ)/hourPlus
	// Delay |(60 s − 300 s) / 300 s| = 0.8; accuracy 1 at that lag.
	checkScore(t, mustScore(t, sig, resp), testnet.PJMScore{Accuracy: 1, Delay: 0.8, Precision: precision, Composite: (1 + 0.8 + precision) / 3})
	if precision < 0 || precision > 0.1 {
		t.Fatalf("precision %v: the ±1 signal should disagree with itself half the time", precision)
	}
}

func TestPJMScoreScaled(t *testing.T) {
	sig := randomSignal(rand.New(rand.NewPCG(3, 3)), hourPlus)
	// Half the asked size: the shape is right and on time, the size half
	// wrong: precision 1 − mean(|s|/2)/mean(|s|) = 0.5.
	checkScore(t, mustScore(t, sig, scaled(sig, 0.5, 0)), testnet.PJMScore{Accuracy: 1, Delay: 1, Precision: 0.5, Composite: 2.5 / 3})
	// Twice the asked size: as wrong the other way.
	checkScore(t, mustScore(t, sig, scaled(sig, 2, 0)), testnet.PJMScore{Accuracy: 1, Delay: 1, Precision: 0, Composite: 2.0 / 3})
	// Scaling both changes nothing: the score is unit-free.
	checkScore(t, mustScore(t, scaled(sig, 1e6, 0), scaled(sig, 0.5e6, 0)), testnet.PJMScore{Accuracy: 1, Delay: 1, Precision: 0.5, Composite: 2.5 / 3})
}

func TestPJMScoreNoResponse(t *testing.T) {
	sig := randomSignal(rand.New(rand.NewPCG(4, 4)), hourPlus)
	// A constant response has no correlation at any lag: accuracy and
	// delay 0 (documented), and doing nothing is an error of the whole
	// signal: precision 0.
	checkScore(t, mustScore(t, sig, make([]float64, hourPlus)), testnet.PJMScore{})
	// A constant offset: still no shape, precision 1 − mean|0.25 − s| /
	// mean|s|.
	var e, m float64
	for _, s := range sig {
		e += math.Abs(0.25 - s)
		m += math.Abs(s)
	}
	p := max(0, 1-e/m)
	checkScore(t, mustScore(t, sig, scaled(sig, 0, 0.25)), testnet.PJMScore{Precision: p, Composite: p / 3})
	// The opposite of the signal: no positive correlation at lag 0, an
	// error of twice the signal. Chance correlations at other lags still
	// earn a little, as they would at PJM.
	if opp := mustScore(t, sig, scaled(sig, -1, 0)); opp.Precision != 0 || opp.Composite > 0.5 {
		t.Errorf("the opposite of the signal scores %+v", opp)
	}
}

func TestPJMScoreFlatSignal(t *testing.T) {
	// A signal holding at 0.5 has no correlation to speak of: every
	// window is scored by slopes. A response that holds too is perfect.
	flat := scaled(make([]float64, 60), 0, 0.5)
	checkScore(t, mustScore(t, flat, flat), testnet.PJMScore{Accuracy: 1, Delay: 1, Precision: 1, Composite: 1})
	// A response creeping up by 0.005 a step against a mean magnitude of
	// 0.5: slope score 1 − 0.005/0.5 = 0.99; precision 1 − mean(0.005·i)
	// / 0.5 = 1 − 0.01·29.5.
	ramp := make([]float64, 60)
	for i := range ramp {
		ramp[i] = 0.5 + 0.005*float64(i)
	}
	checkScore(t, mustScore(t, flat, ramp), testnet.PJMScore{Accuracy: 0.99, Delay: 0.99, Precision: 0.705, Composite: (0.99 + 0.99 + 0.705) / 3})
}

func TestPJMScoreRefuses(t *testing.T) {
	sig := randomSignal(rand.New(rand.NewPCG(5, 5)), 60)
	nan := append([]float64(nil), sig...)
	nan[17] = math.NaN()
	inf := append([]float64(nil), sig...)
	inf[59] = math.Inf(-1)
	tests := []struct {
		name             string
		signal, response []float64
		step             time.Duration
		want             error
	}{
		{"mismatched", sig, sig[:59], tenS, testnet.ErrPJMMismatch},
		{"under ten minutes", sig[:59], sig[:59], tenS, testnet.ErrPJMTooShort},
		{"empty", nil, nil, tenS, testnet.ErrPJMTooShort},
		{"a step that does not divide 5 minutes", sig, sig, 7 * time.Second, testnet.ErrPJMBadInput},
		{"a step too coarse", sig, sig, time.Minute, testnet.ErrPJMBadInput},
		{"no step", sig, sig, 0, testnet.ErrPJMBadInput},
		{"NaN signal", nan, sig, tenS, testnet.ErrPJMBadInput},
		{"infinite response", sig, inf, tenS, testnet.ErrPJMBadInput},
		{"zero signal", make([]float64, 60), sig, tenS, testnet.ErrPJMBadInput},
	}
	for _, tt := range tests {
		if _, err := testnet.ScorePJM(tt.signal, tt.response, tt.step); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	// Exactly ten minutes, and a finer step, are enough.
	if _, err := testnet.ScorePJM(sig, sig, tenS); err != nil {
		t.Errorf("ten minutes: %v", err)
	}
	if _, err := testnet.ScorePJM(append(sig, sig...), append(sig, sig...), 5*time.Second); err != nil {
		t.Errorf("5 s step: %v", err)
	}
}

// TestPJMScoreProperties: on random signals and responses every score is
// in [0, 1] and the composite is their mean; a signal scores 1 against
// itself; a response k steps late scores a delay of at least 1 − k/30;
// scaling both by the same factor changes nothing.
func TestPJMScoreProperties(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 19))
	iters := 60
	if testing.Short() {
		iters = 15 // make test-short: fewer random signals, the same properties
	}
	for iter := range iters {
		n := 60 + rng.IntN(200)
		sig := randomSignal(rng, n)
		if rng.IntN(3) == 0 { // flat stretches
			for i := rng.IntN(n); i < n && i < n/2+40; i++ {
				sig[i] = 0.3
			}
		}
		resp := make([]float64, n)
		k := rng.IntN(31)
		gain := rng.Float64() * 2
		for i := range resp {
			resp[i] = gain*sig[max(i-k, 0)] + (rng.Float64()*2-1)*rng.Float64()*0.3
		}
		sc, err := testnet.ScorePJM(sig, resp, tenS)
		if err != nil {
			t.Fatalf("seed %d iter %d: %v", seed, iter, err)
		}
		for _, v := range []float64{sc.Accuracy, sc.Delay, sc.Precision, sc.Composite} {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("seed %d iter %d: %+v out of [0, 1]", seed, iter, sc)
			}
		}
		if !near(sc.Composite, (sc.Accuracy+sc.Delay+sc.Precision)/3) {
			t.Fatalf("seed %d iter %d: composite %v of %+v", seed, iter, sc.Composite, sc)
		}
		self, _ := testnet.ScorePJM(sig, sig, tenS)
		if !near(self.Composite, 1) {
			t.Fatalf("seed %d iter %d: a signal against itself scores %+v", seed, iter, self)
		}
		lateResp := make([]float64, n)
		for i := range lateResp {
			lateResp[i] = sig[max(i-k, 0)]
		}
		lateSc, _ := testnet.ScorePJM(sig, lateResp, tenS)
		if lateSc.Delay < 1-float64(k)/30-1e-9 {
			t.Fatalf("seed %d iter %d: %d steps late, delay %v", seed, iter, k, lateSc.Delay)
		}
		c := math.Exp(rng.Float64()*20 - 10)
		big, _ := testnet.ScorePJM(scaled(sig, c, 0), scaled(resp, c, 0), tenS)
		if math.Abs(big.Composite-sc.Composite) > 1e-6 {
			t.Fatalf("seed %d iter %d: scaling by %v moved the score from %+v to %+v", seed, iter, c, sc, big)
		}
	}
}
