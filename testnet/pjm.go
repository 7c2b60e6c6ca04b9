package testnet

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// PJMScore is a regulation performance score as PJM Manual 12 defines it
// (Balancing Operations, section 4 "Regulation", Performance Score), each
// part in [0, 1]. Its JSON keys are the report's.
type PJMScore struct {
	// Accuracy is how well the response's shape follows the signal: the
	// correlation at the lag chosen (see ScorePJM), averaged over the
	// scoring windows.
	Accuracy float64 `json:"accuracy"`
	// Delay is how soon it follows: |(δ − 5 min) / 5 min| for the lag δ
	// chosen, averaged over the scoring windows.
	Delay float64 `json:"delay"`
	// Precision is how close it follows in size: 1 − mean |response −
	// signal| / mean |signal|.
	Precision float64 `json:"precision"`
	// Composite is the performance score: the mean of the three.
	Composite float64 `json:"composite"`
}

// Reasons ScorePJM refuses its input.
var (
	// ErrPJMMismatch: the signal and response differ in length.
	ErrPJMMismatch = errors.New("testnet: pjm score: signal and response differ in length")
	// ErrPJMTooShort: fewer samples than a 5-minute window plus the
	// 5 minutes of lag it is scored over.
	ErrPJMTooShort = errors.New("testnet: pjm score: too few samples")
	// ErrPJMBadInput: a bad step, a non-finite value, or a signal that is
	// zero throughout (precision is then undefined).
	ErrPJMBadInput = errors.New("testnet: pjm score: bad input")
)

const (
	// pjmWindow is both the correlation window and the longest lag PJM
	// scores: 5 minutes.
	pjmWindow = 5 * time.Minute
	// pjmMinWindowSamples: a step must cut 5 minutes into at least 10
	// samples (PJM's is 10 s: 30); a correlation over fewer says little.
	pjmMinWindowSamples = 10
	// pjmFlatFraction: a window whose signal varies (standard deviation)
	// by less than 1% of the signal's mean magnitude is flat, and scored
	// by slopes as the manual prescribes; PJM leaves the threshold open,
	// and below 1% the variation is within metering resolution.
	pjmFlatFraction = 0.01
	// pjmStillFraction: a response window that varies by less than a
	// millionth of the signal's mean magnitude is constant: its
	// correlation is undefined and it is no candidate lag. Below that the
	// variation is rounding, not a response.
	pjmStillFraction = 1e-6
)

// ScorePJM scores a resource's response to a regulation signal, both
// sampled every step (PJM samples every 10 s), in the same unit (for
// instance both normalised to the capacity offered, so the signal is in
// [-1, 1]). It follows PJM Manual 12:
//
//   - Accuracy and delay are found together. For each 5-minute window of
//     the signal (one starting at every sample, for as long as the window
//     and 5 minutes of lag fit), the response is shifted by each lag δ
//     from 0 to 5 minutes in steps; the lag kept is the one that
//     maximises correlation score + delay score, where the correlation
//     score is the Pearson correlation of the signal and the shifted
//     response and the delay score is |(δ − 5 min) / 5 min|. Accuracy and
//     Delay are the window averages of the two at the lag kept.
//   - A window whose signal is flat (it varies by less than 1% of the
//     signal's mean magnitude) has no meaningful correlation; the manual
//     then scores both correlation and delay as 1 − |slope of signal −
//     slope of response|, the slopes found by linear regression over the
//     window. Here slopes are per step and in units of the signal's mean
//     magnitude, so the score is unit-free (the manual does not say).
//   - Lags at which the response is constant, or correlates negatively,
//     are not candidates; a window with no candidate scores 0 for both
//     correlation and delay. A constant response therefore scores 0
//     accuracy and 0 delay rather than an undefined correlation and a
//     perfect delay: doing nothing earns nothing.
//   - Precision = 1 − (1/n) Σ |response − signal| / mean |signal| over all
//     n samples (the manual's "hourly average regulation signal" is the
//     mean of its magnitude over the period scored), floored at 0.
//   - Composite = (Accuracy + Delay + Precision) / 3, with the manual's
//     equal weights.
//
// The manual's allowance for a 10 s signal propagation delay is not
// applied: a lag of δ scores |(δ − 5 min) / 5 min| from δ = 0, so a
// response that follows 60 s behind scores a delay of 0.8.
//
// It fails with ErrPJMMismatch for different lengths, ErrPJMTooShort for
// fewer than 10 minutes of samples, and ErrPJMBadInput for a step that is
// not positive or does not cut 5 minutes into at least 10 equal parts, a
// non-finite value, or a signal that is zero throughout.
func ScorePJM(signal, response []float64, step time.Duration) (PJMScore, error) {
	if step <= 0 || pjmWindow%step != 0 || pjmWindow/step < pjmMinWindowSamples {
		return PJMScore{}, fmt.Errorf("%w: a step of %v does not cut %v into %d or more equal parts", ErrPJMBadInput, step, pjmWindow, pjmMinWindowSamples)
	}
	if len(signal) != len(response) {
		return PJMScore{}, fmt.Errorf("%w: %d and %d samples", ErrPJMMismatch, len(signal), len(response))
	}
	w := int(pjmWindow / step) // samples per window, and the most lag in steps
	n := len(signal)
	if n < 2*w {
		return PJMScore{}, fmt.Errorf("%w: %d samples of %v, want at least %d (%v)", ErrPJMTooShort, n, step, 2*w, 2*pjmWindow)
	}
	var meanAbs, errSum float64
	for i := range n {
		s, r := signal[i], response[i]
		if math.IsNaN(s) || math.IsInf(s, 0) || math.IsNaN(r) || math.IsInf(r, 0) {
			return PJMScore{}, fmt.Errorf("%w: sample %d is not finite (signal %v, response %v)", ErrPJMBadInput, i, s, r)
		}
		meanAbs += math.Abs(s)
		errSum += math.Abs(r - s)
	}
	meanAbs /= float64(n)
	if meanAbs == 0 {
		return PJMScore{}, fmt.Errorf("%w: the signal is zero throughout", ErrPJMBadInput)
	}

	var accSum, delaySum float64
	windows := n - 2*w + 1
	for t := range windows {
		acc, delay := pjmWindowScore(signal[t:t+w], response[t:t+2*w], w, meanAbs)
		accSum += acc
		delaySum += delay
	}
	sc := PJMScore{
		Accuracy:  accSum / float64(windows),
		Delay:     delaySum / float64(windows),
		Precision: max(0, 1-errSum/float64(n)/meanAbs),
	}
	sc.Composite = (sc.Accuracy + sc.Delay + sc.Precision) / 3
	return sc, nil
}

// pjmWindowScore scores one window: sig is the signal's w samples, resp
// the response from the window's start on, w samples plus w of lag.
func pjmWindowScore(sig, resp []float64, w int, meanAbs float64) (accuracy, delay float64) {
	if pjmStddev(sig) < pjmFlatFraction*meanAbs {
		s := max(0, 1-math.Abs(pjmSlope(sig)-pjmSlope(resp[:w]))/meanAbs)
		return s, s
	}
	best := math.Inf(-1)
	for k := 0; k <= w; k++ {
		shifted := resp[k : k+w]
		if pjmStddev(shifted) < pjmStillFraction*meanAbs {
			continue
		}
		r := pjmPearson(sig, shifted)
		if !(r > 0) {
			continue
		}
		d := 1 - float64(k)/float64(w) // |(δ − 5 min) / 5 min|
		if r+d > best {
			best, accuracy, delay = r+d, r, d
		}
	}
	return accuracy, delay
}

func pjmMean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func pjmStddev(x []float64) float64 {
	m := pjmMean(x)
	var ss float64
	for _, v := range x {
		ss += (v - m) * (v - m)
	}
	return math.Sqrt(ss / float64(len(x)))
}

// pjmPearson is the correlation of x and y, equal in length, neither
// constant.
func pjmPearson(x, y []float64) float64 {
	mx, my := pjmMean(x), pjmMean(y)
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	return max(-1, min(1, sxy/math.Sqrt(sxx*syy)))
}

// pjmSlope is the least-squares slope of y against its index.
func pjmSlope(y []float64) float64 {
	n := float64(len(y))
	mx, my := (n-1)/2, pjmMean(y)
	var sxy, sxx float64
	for i, v := range y {
		dx := float64(i) - mx
		sxy += dx * (v - my)
		sxx += dx * dx
	}
	return sxy / sxx
}
