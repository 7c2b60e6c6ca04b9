package openadr

import (
	"strings"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/operator/openadr/oadr3"
)

var t0 = time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC)

func num(v float32) oadr3.ValuesMap_Values_Item {
	var it oadr3.ValuesMap_Values_Item
	_ = it.FromValuesMapValues0(v)
	return it
}

func str(s string) *string { return &s }

// event is an event of one payload type with one value per interval,
// intervals of d back to back from start.
func event(id string, typ string, start time.Time, d time.Duration, values ...float32) oadr3.Event {
	dur := isoDuration(d)
	ev := oadr3.Event{Id: &id, ProgramID: "p1", IntervalPeriod: &oadr3.IntervalPeriod{Start: start.Format(time.RFC3339Nano), Duration: &dur}}
	for i, v := range values {
		ev.Intervals = append(ev.Intervals, oadr3.Interval{Id: int32(i), Payloads: []oadr3.ValuesMap{{Type: typ, Values: []oadr3.ValuesMap_Values_Item{num(v)}}}})
	}
	return ev
}

func withUnits(ev oadr3.Event, typ, units string) oadr3.Event {
	ev.PayloadDescriptors = &[]oadr3.EventPayloadDescriptor{{PayloadType: typ, Units: &units}}
	return ev
}

func withPriority(ev oadr3.Event, p int) oadr3.Event { ev.Priority = &p; return ev }

func TestConvert(t *testing.T) {
	cfg := ConvertConfig{BaselineImportW: 100_000, SimpleLevelW: 10_000}
	type want struct {
		id     string
		start  time.Time
		d      time.Duration
		amount gridmesh.W
	}
	for _, tc := range []struct {
		name   string
		events []oadr3.Event
		cfg    ConvertConfig
		now    time.Time
		want   []want
		skips  []string // substrings of the skip reasons, in order
	}{
		{"import limit in kW: baseline minus limit", []oadr3.Event{event("e1", PayloadImportCapacityLimit, t0, 10*time.Minute, 60)}, cfg, t0,
			[]want{{"oadr-e1-0", t0, 10 * time.Minute, 40_000}}, nil},
		{"units W and MW", []oadr3.Event{
			withUnits(event("w", PayloadImportCapacityLimit, t0, time.Minute, 70_000), PayloadImportCapacityLimit, "W"),
			withUnits(event("mw", PayloadImportCapacityLimit, t0.Add(time.Hour), time.Minute, 0.09375), PayloadImportCapacityLimit, "MW")}, cfg, t0,
			[]want{{"oadr-w-0", t0, time.Minute, 30_000}, {"oadr-mw-0", t0.Add(time.Hour), time.Minute, 6_250}}, nil},
		{"intervals back to back, each its own cut; an ended one dropped", []oadr3.Event{
			event("e1", PayloadImportCapacityLimit, t0, 5*time.Minute, 90, 80, 70)}, cfg, t0.Add(6 * time.Minute),
			[]want{{"oadr-e1-1", t0.Add(5 * time.Minute), 5 * time.Minute, 20_000}, {"oadr-e1-2", t0.Add(10 * time.Minute), 5 * time.Minute, 30_000}}, nil},
		{"a limit above the baseline asks nothing", []oadr3.Event{event("e1", PayloadImportCapacityLimit, t0, time.Minute, 150)}, cfg, t0, nil, nil},
		{"SIMPLE levels", []oadr3.Event{event("s", PayloadSimple, t0, time.Minute, 0, 1, 3)}, cfg, t0,
			[]want{{"oadr-s-1", t0.Add(time.Minute), time.Minute, 10_000}, {"oadr-s-2", t0.Add(2 * time.Minute), time.Minute, 30_000}}, nil},
		{"SIMPLE level 4 refused", []oadr3.Event{event("s", PayloadSimple, t0, time.Minute, 4)}, cfg, t0, nil, []string{"SIMPLE: level"}},
		{"PRICE and EXPORT_CAPACITY_LIMIT not acted on", []oadr3.Event{
			event("p", PayloadPrice, t0, time.Hour, 0.17), event("x", PayloadExportCapacityLimit, t0, time.Hour, 5)}, cfg, t0,
			nil, []string{"PRICE: not acted on", "EXPORT_CAPACITY_LIMIT: not supported"}},
		{"no baseline: limits not acted on", []oadr3.Event{event("e1", PayloadImportCapacityLimit, t0, time.Minute, 60)},
			ConvertConfig{SimpleLevelW: 1}, t0, nil, []string{"no baseline"}},
		{"zero duration holds for the longest signal", []oadr3.Event{event("e1", PayloadImportCapacityLimit, t0, 0, 60)}, cfg, t0,
			[]want{{"oadr-e1-0", t0, gridmesh.MaxSignalDurationMs * time.Millisecond, 40_000}}, nil},
		{"overlap: the higher priority wins whatever its cut", []oadr3.Event{
			withPriority(event("lo", PayloadImportCapacityLimit, t0, 10*time.Minute, 10), 5),
			withPriority(event("hi", PayloadImportCapacityLimit, t0.Add(5*time.Minute), 10*time.Minute, 90), 1)}, cfg, t0,
			[]want{{"oadr-hi-0", t0.Add(5 * time.Minute), 10 * time.Minute, 10_000}}, []string{"overlaps oadr-hi-0"}},
		{"overlap at one priority: the larger cut wins", []oadr3.Event{
			event("a", PayloadImportCapacityLimit, t0, 10*time.Minute, 50),
			event("b", PayloadImportCapacityLimit, t0, 10*time.Minute, 20)}, cfg, t0,
			[]want{{"oadr-b-0", t0, 10 * time.Minute, 80_000}}, []string{"overlaps oadr-b-0"}},
		{"an event without an id", []oadr3.Event{{ProgramID: "p", Intervals: []oadr3.Interval{{}}}}, cfg, t0, nil, []string{"without an id"}},
		{"bad duration", []oadr3.Event{func() oadr3.Event {
			e := event("e1", PayloadImportCapacityLimit, t0, time.Minute, 60)
			e.IntervalPeriod.Duration = str("P1M")
			return e
		}()}, cfg, t0, nil, []string{"duration"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, skips := Convert(tc.events, tc.cfg, tc.now)
			if len(got) != len(tc.want) {
				t.Fatalf("intents %+v, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.SignalID != w.id || !g.Start.Equal(w.start) || g.End.Sub(g.Start) != w.d || g.AmountW != w.amount {
					t.Errorf("intent %d = %s %v +%v %v; want %s %v +%v %v", i, g.SignalID, g.Start, g.End.Sub(g.Start), g.AmountW, w.id, w.start, w.d, w.amount)
				}
			}
			if len(skips) != len(tc.skips) {
				t.Fatalf("skips %+v, want %q", skips, tc.skips)
			}
			for i, s := range tc.skips {
				if !strings.Contains(skips[i].Reason, s) {
					t.Errorf("skip %d = %q, want it to say %q", i, skips[i].Reason, s)
				}
			}
		})
	}
}

func TestIntervalOwnPeriodOverridesEvent(t *testing.T) {
	ev := event("e1", PayloadImportCapacityLimit, t0, time.Hour, 60, 60)
	d := "PT15M"
	ev.Intervals[1].IntervalPeriod = &oadr3.IntervalPeriod{Start: t0.Add(3 * time.Hour).Format(time.RFC3339), Duration: &d}
	got, _ := Convert([]oadr3.Event{ev}, ConvertConfig{BaselineImportW: 100_000}, t0)
	if len(got) != 2 || !got[1].Start.Equal(t0.Add(3*time.Hour)) || got[1].End.Sub(got[1].Start) != 15*time.Minute {
		t.Fatalf("intents %+v: want the second at +3h for 15 min", got)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"": 0, "PT0S": 0, "PT1H": time.Hour, "PT15M": 15 * time.Minute, "P1D": 24 * time.Hour, "P1W": 7 * 24 * time.Hour,
		"PT0.5S": 500 * time.Millisecond, "P1DT2H3M4S": 26*time.Hour + 3*time.Minute + 4*time.Second, "PT600S": 10 * time.Minute,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"P", "PT", "1H", "P1M", "P1Y", "-PT1H", "PT1.5H", "PTH", "PT1H1H", "PT1S1M", "P9999999D", "PT1X"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"PT1H", "P1DT2H", "PT0.5S", "P1W", "", "P1M"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && (d < 0 || d > maxDuration) {
			t.Fatalf("ParseDuration(%q) = %v: out of range", s, d)
		}
		if err == nil && d > 0 {
			if back, err := ParseDuration(isoDuration(d)); err != nil || back != d {
				t.Fatalf("round trip of %v via %q = %v, %v", d, isoDuration(d), back, err)
			}
		}
	})
}

// A metered meter reports the baseline less the import read, and takes
// the offer from the gossip.
func TestFeederMeter(t *testing.T) {
	g := NewGossipMeter()
	now := time.Unix(1_800_000_000, 0)
	g.Put(gridmesh.Aggregate{Version: gridmesh.WireVersion, Neighborhood: "n0", UpW: 4000, UpWh: 4000, ForS: 15, AtMs: now.UnixMilli()})
	m := FeederMeter{BaselineW: 10_000, ImportW: func() gridmesh.W { return 7_500 }, Offer: g}
	s := gridmesh.Signal{ID: "x", Kind: gridmesh.SignalCutImport, StartMs: now.UnixMilli(), EndMs: now.Add(time.Minute).UnixMilli(), AmountW: 3000}
	got := m.Sample(s, now)
	if got.ReductionW != 2_500 {
		t.Errorf("reduction %v, want 2500 W (baseline less import)", got.ReductionW)
	}
	if got.OfferedW != 4000 {
		t.Errorf("offer %v, want the gossip's 4000 W", got.OfferedW)
	}
	if m.ReadingType() != "MEAN" {
		t.Errorf("reading type %q", m.ReadingType())
	}
}
