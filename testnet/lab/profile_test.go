package lab

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestProfilesValidate(t *testing.T) {
	for _, name := range ProfileNames {
		p, ok := Profiles[name]
		if !ok {
			t.Fatalf("ProfileNames lists %s, Profiles lacks it", name)
		}
		if err := p.Validate(); err != nil {
			t.Error(err)
		}
	}
	bad := []Profile{
		{Name: "inverted", DelayMin: 2, DelayMax: 1},
		{Name: "loss", LossPct: 101},
		{Name: "rate", RateBitPerS: -1},
		{Name: "burst", Burst: &Gilbert{EnterPct: 0, ExitPct: 10}},
	}
	for _, p := range bad {
		if p.Validate() == nil {
			t.Errorf("%s: accepted", p.Name)
		}
	}
}

// The shaper's statistics match the profile over many packets.
func TestShaperStatistics(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	const n = 200_000
	for _, name := range ProfileNames {
		p := Profiles[name]
		s := newShaper(p, rand.New(rand.NewPCG(seed, 1)))
		t0 := time.Unix(0, 0)
		now := t0
		drops := map[string]int{}
		var minD, maxD time.Duration = math.MaxInt64, 0
		var prev time.Time
		bursts, inBurst := 0, false
		for range n {
			// 200-byte packets every 1 ms: 1.6 Mbit/s, under every rate.
			now = now.Add(time.Millisecond)
			v := s.admit(now, 200, Impairment{})
			if v.Drop {
				drops[v.Reason]++
				if v.Reason == "burst" && !inBurst {
					bursts++
				}
				inBurst = v.Reason == "burst"
				continue
			}
			inBurst = false
			if v.Depart.Before(prev) {
				t.Fatalf("%s: packet departs %v before its predecessor %v", name, v.Depart, prev)
			}
			prev = v.Depart
			d := v.Depart.Sub(now)
			minD, maxD = min(minD, d), max(maxD, d)
		}
		serial := time.Duration(0)
		if p.RateBitPerS > 0 {
			serial = time.Duration(200 * 8 * int64(time.Second) / p.RateBitPerS)
		}
		if minD < p.DelayMin || maxD > p.DelayMax+serial+time.Millisecond {
			t.Errorf("%s: delays in [%v, %v], want within [%v, %v]", name, minD, maxD, p.DelayMin, p.DelayMax+serial)
		}
		if p.DelayMax-p.DelayMin > 10*time.Millisecond && maxD-minD < (p.DelayMax-p.DelayMin)/2 {
			t.Errorf("%s: delays in [%v, %v]: no jitter", name, minD, maxD)
		}
		lossPct := 100 * float64(drops["loss"]) / n
		if math.Abs(lossPct-p.LossPct) > 0.1 {
			t.Errorf("%s: random loss %.3f%%, want %.3f%%", name, lossPct, p.LossPct)
		}
		if drops["queue"] != 0 {
			t.Errorf("%s: %d queue drops under its rate", name, drops["queue"])
		}
		if b := p.Burst; b != nil {
			want := 100 * b.EnterPct / (b.EnterPct + b.ExitPct)
			got := 100 * float64(drops["burst"]) / n
			if math.Abs(got-want) > 0.5 {
				t.Errorf("%s: burst loss %.2f%%, want %.2f%%", name, got, want)
			}
			meanLen := float64(drops["burst"]) / float64(bursts)
			if wantLen := 100 / b.ExitPct; math.Abs(meanLen-wantLen) > 0.5 {
				t.Errorf("%s: mean burst %.2f packets, want %.2f", name, meanLen, wantLen)
			}
		} else if drops["burst"] != 0 {
			t.Errorf("%s: %d burst drops without a burst model", name, drops["burst"])
		}
	}
}

// Above its rate the link queues, then drops at its buffer's end.
func TestShaperRateLimit(t *testing.T) {
	p := Profile{Name: "slow", RateBitPerS: 8_000_000, MaxQueue: 10 * time.Millisecond} // 1 byte/µs
	s := newShaper(p, rand.New(rand.NewPCG(1, 2)))
	now := time.Unix(0, 0)
	var sent, dropped int
	var last time.Time
	for range 100 { // 100 packets of 1000 B at once: 1 ms each
		v := s.admit(now, 1000, Impairment{})
		if v.Drop {
			if v.Reason != "queue" {
				t.Fatalf("dropped for %s", v.Reason)
			}
			dropped++
			continue
		}
		sent++
		last = v.Depart
	}
	// The first leaves after 1 ms; packets that would start more than 10 ms
	// from now are dropped: 11 pass (starts at 0..10 ms).
	if sent != 11 || dropped != 89 {
		t.Errorf("sent %d, dropped %d; want 11, 89", sent, dropped)
	}
	if got := last.Sub(now); got != 11*time.Millisecond {
		t.Errorf("last departs after %v, want 11ms", got)
	}
}
