package control_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
)

// The outlook's weights: 1 now, falling with the hours ahead, rising with
// the hours the outage has lasted (the longer it lasted, the longer it
// goes on), none when the end is announced; the median remaining is
// about 2 h at the start and about half the scale plus what has passed.
func TestOutageOutlookStillOut(t *testing.T) {
	if w := (control.OutageOutlook{Announced: true}).StillOut(time.Hour, 8); w != nil {
		t.Fatalf("announced: weights %v, want none", w)
	}
	step := 15 * time.Minute
	fresh := control.OutageOutlook{}.StillOut(step, 96)
	old := control.OutageOutlook{Elapsed: 6 * time.Hour}.StillOut(step, 96)
	for k := range fresh {
		if k == 0 && (fresh[0] != 1 || old[0] != 1) {
			t.Fatalf("now weighs %v and %v, want 1", fresh[0], old[0])
		}
		if k > 0 && !(fresh[k] < fresh[k-1] && old[k] < old[k-1] && fresh[k] < old[k]) {
			t.Fatalf("step %d: %v after %v (lasted 6 h: %v after %v)", k, fresh[k], fresh[k-1], old[k], old[k-1])
		}
	}
	median := func(w []float64) time.Duration {
		for k, p := range w {
			if p <= 0.5 {
				return time.Duration(k) * step
			}
		}
		return -1
	}
	if m := median(fresh); m < 105*time.Minute || m > 2*time.Hour {
		t.Errorf("a fresh outage's median remaining %v, want about 2 h", m)
	}
	if m := median(old); m < 4*time.Hour+45*time.Minute || m > 5*time.Hour {
		t.Errorf("after 6 h the median remaining %v, want about 5 h", m)
	}
	// Given it lasted 2 h, it lasts another 3 h with the probability that
	// it lasts 5 h over the probability that it lasts 2 h.
	lasted2 := control.OutageOutlook{Elapsed: 2 * time.Hour}.StillOut(time.Hour, 6)
	all := control.OutageOutlook{}.StillOut(time.Hour, 6)
	if got, want := lasted2[3], all[5]/all[2]; math.Abs(got-want) > 1e-12 {
		t.Errorf("another 3 h after 2 h: %v, want %v", got, want)
	}
}

// A night short of energy: with its end announced the plan leaves the
// largest home off in the evening for the small hours (it serves more
// critical energy); on an outage of unknown end that has just begun, the
// energy the evening serves for sure is worth more than what the night
// may need, and every home stays lit.
func TestRationWeighsTheOutlook(t *testing.T) {
	cfg := control.RationConfig{Step: time.Hour, RestoreSteps: 3, RoundTrip: 1, DisconnectHomes: true}
	night := control.IslandForecast{CriticalW: hourly(1500, 1500, 600, 600, 600, 600, 600, 600), PVW: make([]gridmesh.W, 8)}
	for _, tc := range []struct {
		outlook control.OutageOutlook
		want    string
	}{
		{control.OutageOutlook{Announced: true}, "[h3]"},
		{control.OutageOutlook{}, "[]"},
		{control.OutageOutlook{Elapsed: 48 * time.Hour}, "[]"}, // the night's gain is 60 Wh of 4.2 kWh
	} {
		fc := night
		fc.StillOut = tc.outlook.StillOut(cfg.Step, len(night.CriticalW))
		_, plan, err := control.RationIsland(control.DefaultIslandConfig(), cfg, nightHomes(4350, false), fc)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(plan.Disconnect); got != tc.want {
			t.Errorf("%+v: disconnects %s, want %s (expected served %v)", tc.outlook, got, tc.want, plan.ServedWh)
		}
	}
}
