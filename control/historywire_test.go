package control_test

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
)

// daysOfHistory is an island's history of days days up to end, a sample
// a HistoryStep, with powers float32 holds exactly.
func daysOfHistory(end time.Time, days int) *control.ForecastHistory {
	var h control.ForecastHistory
	for at := end.Add(-time.Duration(days) * 24 * time.Hour); at.Before(end); at = at.Add(control.HistoryStep) {
		h.Add(at, gridmesh.W(300+at.Hour()*25), gridmesh.W(max(0, 12-abs(at.Hour()-12))*250))
	}
	return &h
}

func abs(x int) int { return max(x, -x) }

// A summary carries the newest SummaryDays of samples, and a new leader
// that adopts it forecasts exactly as the old one did: no step guessed.
func TestSummaryRoundTripKeepsTheForecast(t *testing.T) {
	end := time.Date(2026, 1, 15, 18, 0, 0, 0, time.UTC)
	old := daysOfHistory(end, 5)
	b := control.EncodeSummary(old)
	if len(b) > control.MaxSummaryBytes {
		t.Fatalf("summary of %d bytes, bound %d", len(b), control.MaxSummaryBytes)
	}
	got, err := control.DecodeSummary(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Load) != control.MaxSummarySamples || !reflect.DeepEqual(got.Load, old.Load[len(old.Load)-control.MaxSummarySamples:]) {
		t.Fatalf("summary holds %d samples, not the newest %d", len(got.Load), control.MaxSummarySamples)
	}
	var fresh control.ForecastHistory // a new leader, one sample of its own
	fresh.Add(end, 700, 0)
	old.Add(end, 700, 0) // the old leader, had it watched it too
	fresh.Adopt(got)
	cfg := control.DefaultRationConfig()
	pv := control.PVModel{}
	want := control.ForecastIsland(old, pv, end.Add(cfg.Step), control.DefaultRationHorizon, cfg)
	have := control.ForecastIsland(&fresh, pv, end.Add(cfg.Step), control.DefaultRationHorizon, cfg)
	if have.Guessed != nil || !reflect.DeepEqual(have, want) {
		t.Errorf("the adopted history forecasts %v (guessed %v), the old leader %v", have.CriticalW[:4], have.Guessed != nil, want.CriticalW[:4])
	}
	if n := len(fresh.Load); fresh.Load[n-1] != (control.Sample{AtMs: end.UnixMilli(), W: 700}) {
		t.Errorf("the new leader's own newer sample was lost: last %+v", fresh.Load[n-1])
	}
	longer := daysOfHistory(end, 1) // a history longer than the summary's is kept
	before := slices.Clone(longer.Load)
	n := len(before)
	longer.Adopt(control.ForecastHistory{Load: before[n-3:], PV: longer.PV[n-3:]})
	if !slices.Equal(longer.Load, before) {
		t.Errorf("a longer history took a shorter summary of its own newest samples: %d samples, had %d", len(longer.Load), n)
	}
	longer.Adopt(control.ForecastHistory{Load: got.Load[:3], PV: got.PV[:3]}) // three older samples
	if len(longer.Load) != n+3 || !slices.Equal(longer.Load[3:], before) || !slices.Equal(longer.Load[:3], got.Load[:3]) {
		t.Errorf("three older samples adopted into a day: %d samples, want %d with the day's own last", len(longer.Load), n+3)
	}
	again := slices.Clone(longer.Load)
	longer.Adopt(control.ForecastHistory{Load: got.Load[:3], PV: got.PV[:3]})
	if !slices.Equal(longer.Load, again) {
		t.Error("adopting the same summary again changed the history")
	}
}

// A new leader that recorded one sample before it saw the log's summary
// of one older sample (a young history) takes both: the summary is not
// shorter than its own history, so it is not lost to a tie.
func TestAdoptAfterOwnFirstSample(t *testing.T) {
	t0 := time.Date(2026, 1, 15, 18, 0, 0, 0, time.UTC)
	var old, fresh control.ForecastHistory
	old.Add(t0, 500, 0)
	fresh.Add(t0.Add(control.HistoryStep), 600, 0)
	fresh.Adopt(old)
	want := []control.Sample{{AtMs: t0.UnixMilli(), W: 500}, {AtMs: t0.Add(control.HistoryStep).UnixMilli(), W: 600}}
	if !slices.Equal(fresh.Load, want) || len(fresh.PV) != 2 {
		t.Errorf("adopted %+v, want %+v", fresh.Load, want)
	}
}

func TestDecodeSummaryRefuses(t *testing.T) {
	good := control.EncodeSummary(daysOfHistory(time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), 1))
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for name, b := range map[string][]byte{
		"empty":          nil,
		"other version":  mutate(func(b []byte) []byte { b[0] = 2; return b }),
		"short":          good[:len(good)-1],
		"trailing bytes": append(bytes.Clone(good), 0),
		"count too high": {1, 0xff, 0xff},
		"time backwards": mutate(func(b []byte) []byte { copy(b[3+16:3+24], b[3:3+8]); return b }),
		"NaN power":      mutate(func(b []byte) []byte { copy(b[3+8:3+12], []byte{0x7f, 0xc0, 0, 0}); return b }),
		"negative power": mutate(func(b []byte) []byte { b[3+12] |= 0x80; b[3+13] |= 1; return b }),
	} {
		if _, err := control.DecodeSummary(b); !errors.Is(err, control.ErrBadSummary) {
			t.Errorf("%s: %v, want ErrBadSummary", name, err)
		}
	}
}

func FuzzDecodeSummary(f *testing.F) {
	f.Add(control.EncodeSummary(daysOfHistory(time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), 1)))
	f.Add(control.EncodeSummary(&control.ForecastHistory{}))
	f.Add([]byte{1, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := control.DecodeSummary(b)
		if err != nil {
			return
		}
		if again := control.EncodeSummary(&h); !bytes.Equal(again, b) {
			t.Fatalf("a decoded summary re-encodes to other bytes")
		}
	})
}
