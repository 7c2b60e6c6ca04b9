package session

import "time"

// backoff is a capped exponential backoff with "equal jitter": the n-th
// delay is d/2 plus a random share of d/2, where d = min·2ⁿ capped at max.
// Half the delay is kept so a broker that is down is not hammered; the
// random half spreads out the homes (and devices) that all lost the same
// broker at once. Not safe for concurrent use; Run owns it.
type backoff struct {
	min, max time.Duration
	cur      time.Duration // d for the next delay; 0: min
	// jitter returns a uniform random number in [0, n) for n > 0
	// (math/rand/v2's Int64N; tests inject their own).
	jitter func(n int64) int64
}

// next returns the delay before the next attempt and doubles the one after.
func (b *backoff) next() time.Duration {
	d := max(b.cur, b.min)
	b.cur = min(2*d, b.max)
	half := d / 2
	return d - half + time.Duration(b.jitter(int64(half)+1))
}

// reset makes the next delay start from min again.
func (b *backoff) reset() { b.cur = 0 }
