package lab

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Profile is how a home's access link treats the packets the home sends:
// the model of Linux's netem (delay with jitter, random or bursty loss, a
// rate limit), applied by the lab to each packet leaving the home (see
// docs/LAB.md for the figures and where they come from). Packets towards
// the home are carried unshaped: a home-to-home path crosses the
// sender's uplink only, so its one-way delay is the sender's.
type Profile struct {
	Name string
	// DelayMin and DelayMax bound the one-way delay, drawn uniformly per
	// packet. Packets never overtake each other (netem with a rate does
	// not reorder either): a packet leaves no earlier than the one
	// before it.
	DelayMin, DelayMax time.Duration
	// LossPct is the share of packets lost at random (Bernoulli), in %.
	LossPct float64
	// Burst, when set, adds bursty loss (Gilbert model).
	Burst *Gilbert
	// RateBitPerS is the uplink rate; 0 is unlimited.
	RateBitPerS int64
	// MaxQueue is the most a packet waits for the rate limit; a packet
	// that would wait longer is dropped (a home router's buffer, tail
	// drop). 0 with a rate set means 500 ms.
	MaxQueue time.Duration
}

// Gilbert is a two-state loss model (netem's `loss gemodel p r 100% 0%`):
// in the good state no packet is lost beyond Profile.LossPct, in the bad
// state every packet is; each packet the link moves good→bad with
// probability EnterPct/100 and bad→good with ExitPct/100. Mean loss is
// Enter/(Enter+Exit); mean burst length 100/ExitPct packets.
type Gilbert struct {
	EnterPct, ExitPct float64
}

// Profiles are the links the lab offers, by name.
var Profiles = map[string]Profile{
	// A switched home LAN: the lab's own copy (tens of µs) is the delay.
	"lan": {Name: "lan"},
	// Home broadband (cable, DSL, fibre to the cabinet), one way.
	"broadband": {
		Name: "broadband", DelayMin: 15 * time.Millisecond, DelayMax: 40 * time.Millisecond,
		LossPct: 0.2, RateBitPerS: 20_000_000,
	},
	// Broadband on a bad day (congested Wi-Fi, a noisy DSL line): 3 %
	// loss on average, in bursts of 4 packets.
	"lossy": {
		Name: "lossy", DelayMin: 15 * time.Millisecond, DelayMax: 40 * time.Millisecond,
		LossPct: 0.2, RateBitPerS: 20_000_000,
		Burst: &Gilbert{EnterPct: 0.773, ExitPct: 25},
	},
}

// ProfileNames lists Profiles' keys in a stable order, for flags.
var ProfileNames = []string{"lan", "broadband", "lossy"}

// Validate checks the profile's numbers.
func (p Profile) Validate() error {
	switch {
	case p.DelayMin < 0 || p.DelayMax < p.DelayMin:
		return fmt.Errorf("link %s: delay [%v, %v]: want 0 <= min <= max", p.Name, p.DelayMin, p.DelayMax)
	case p.LossPct < 0 || p.LossPct > 100:
		return fmt.Errorf("link %s: loss %v%%: want 0..100", p.Name, p.LossPct)
	case p.RateBitPerS < 0:
		return fmt.Errorf("link %s: rate %d bit/s: want >= 0", p.Name, p.RateBitPerS)
	case p.Burst != nil && (p.Burst.EnterPct <= 0 || p.Burst.EnterPct > 100 || p.Burst.ExitPct <= 0 || p.Burst.ExitPct > 100):
		return fmt.Errorf("link %s: burst enter %v%%, exit %v%%: want 0 < x <= 100", p.Name, p.Burst.EnterPct, p.Burst.ExitPct)
	}
	return nil
}

// Impairment is a fault the lab lays over a link's profile for a while:
// the link down (a pulled cable, a dead Wi-Fi: every packet dropped), or
// loss on top of the profile's.
type Impairment struct {
	Down bool
	// LossPct is extra random (Bernoulli) loss, in %.
	LossPct float64
}

// shaper decides the fate of each packet on one direction of a link: a
// pure function of its state, the packet's size, the time and its random
// source. Owned by the link's reader goroutine.
type shaper struct {
	p   Profile
	rng *rand.Rand
	bad bool // Gilbert state
	// free is when the rate limiter can start serializing the next
	// packet; last is the latest departure handed out.
	free, last time.Time
}

func newShaper(p Profile, rng *rand.Rand) *shaper {
	if p.RateBitPerS > 0 && p.MaxQueue == 0 {
		p.MaxQueue = 500 * time.Millisecond // a home router's buffer
	}
	return &shaper{p: p, rng: rng}
}

// verdict is what happens to one packet.
type verdict struct {
	Drop   bool
	Reason string // "loss", "burst", "queue", "down" or "impaired" when dropped
	Depart time.Time
}

// admit decides a packet of size bytes arriving at now, with imp laid
// over the link: dropped, or when it leaves the link.
func (s *shaper) admit(now time.Time, size int, imp Impairment) verdict {
	if imp.Down {
		return verdict{Drop: true, Reason: "down"}
	}
	if imp.LossPct > 0 && s.rng.Float64()*100 < imp.LossPct {
		return verdict{Drop: true, Reason: "impaired"}
	}
	if b := s.p.Burst; b != nil {
		if s.bad {
			s.bad = s.rng.Float64()*100 >= b.ExitPct
		} else {
			s.bad = s.rng.Float64()*100 < b.EnterPct
		}
		if s.bad {
			return verdict{Drop: true, Reason: "burst"}
		}
	}
	if s.p.LossPct > 0 && s.rng.Float64()*100 < s.p.LossPct {
		return verdict{Drop: true, Reason: "loss"}
	}
	sent := now
	if s.p.RateBitPerS > 0 {
		start := now
		if s.free.After(start) {
			start = s.free
		}
		if start.Sub(now) > s.p.MaxQueue {
			return verdict{Drop: true, Reason: "queue"}
		}
		sent = start.Add(time.Duration(int64(size) * 8 * int64(time.Second) / s.p.RateBitPerS))
		s.free = sent
	}
	d := s.p.DelayMin
	if span := s.p.DelayMax - s.p.DelayMin; span > 0 {
		d += time.Duration(s.rng.Int64N(int64(span) + 1))
	}
	dep := sent.Add(d)
	if dep.Before(s.last) {
		dep = s.last
	}
	s.last = dep
	return verdict{Depart: dep}
}
