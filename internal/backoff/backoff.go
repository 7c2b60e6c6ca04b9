// Package backoff is the one capped exponential backoff with jitter that
// every retry in gridmesh uses: reopening the network, redialing a
// bootstrap peer, reconnecting to a device's broker, restarting a failed
// component.
//
// The n-th delay is d/2 plus a uniformly random share of d/2, where
// d = Min·2ⁿ capped at Max ("equal jitter"). Half the delay is kept so a
// peer that is down is not hammered; the random half spreads out the homes
// that all lost the same peer at the same moment, so a restarted city does
// not retry in lock-step.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff yields the delays between attempts. The zero value is not
// usable: set Min and Max (0 < Min ≤ Max). Not safe for concurrent use:
// the retrying goroutine owns it.
type Backoff struct {
	Min, Max time.Duration
	// Rand returns a uniform random number in [0, n) for n > 0; nil means
	// math/rand/v2's Int64N. Tests inject their own.
	Rand func(n int64) int64

	cur time.Duration // d for the next delay; 0: Min
}

// New returns a backoff from min to max.
func New(min, max time.Duration) *Backoff { return &Backoff{Min: min, Max: max} }

// Next returns the delay before the next attempt and doubles the one after.
func (b *Backoff) Next() time.Duration {
	d := max(b.cur, b.Min)
	b.cur = min(2*d, b.Max)
	half := d / 2
	r := b.Rand
	if r == nil {
		r = rand.Int64N
	}
	return d - half + time.Duration(r(int64(half)+1))
}

// Reset makes the next delay start from Min again; call it after an
// attempt that lasted.
func (b *Backoff) Reset() { b.cur = 0 }

// Wait sleeps for Next() or until ctx ends, reporting whether the delay
// elapsed (false: ctx ended first).
func (b *Backoff) Wait(ctx context.Context) bool { return Sleep(ctx, b.Next()) }

// Sleep waits for d or until ctx ends, reporting whether d elapsed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
