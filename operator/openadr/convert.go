package openadr

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/operator/openadr/oadr3"
)

// Event payload types the bridge acts on, and the ones it reads but
// cannot act on yet (OpenADR 3.0 Definition, Table 1).
const (
	PayloadImportCapacityLimit = "IMPORT_CAPACITY_LIMIT"
	PayloadExportCapacityLimit = "EXPORT_CAPACITY_LIMIT"
	PayloadSimple              = "SIMPLE"
	PayloadPrice               = "PRICE"
)

// ConvertConfig is what turns a VTN's numbers into a region's cuts.
type ConvertConfig struct {
	// BaselineImportW is the region's import the program's capacity
	// limits are measured against: an IMPORT_CAPACITY_LIMIT of L asks a
	// cut of BaselineImportW - L. 0: capacity limits are not acted on.
	BaselineImportW gridmesh.W
	// SimpleLevelW is the cut one SIMPLE level asks: level n (1 to 3)
	// cuts n × SimpleLevelW. 0: SIMPLE events are not acted on.
	SimpleLevelW gridmesh.W
}

// Intent is one cut the VTN's events ask of the region now: one interval
// of one event, as the signal the bridge keeps in force for it.
type Intent struct {
	// SignalID is the gridmesh signal ID: "oadr-" and the event's ID and
	// the interval's.
	SignalID string
	EventID  string
	Interval int32
	// Priority is the event's (lower is more important; events without
	// one rank last).
	Priority int
	Start    time.Time
	End      time.Time
	AmountW  gridmesh.W
	// Payload is the payload type it came from.
	Payload string
}

// Skip is an interval, or a whole event, the bridge does not act on, and
// why (for logs and the status).
type Skip struct {
	EventID  string
	Interval int32
	Reason   string
}

// noPriority ranks events without a priority after every event with one.
const noPriority = math.MaxInt32

// Convert turns the VTN's events into the cuts the region should hold at
// now: one Intent per interval of an IMPORT_CAPACITY_LIMIT or SIMPLE
// payload that has not ended, and a Skip for everything it cannot act
// on. Where intervals of different events overlap, the higher priority
// (lower number) wins, then the larger cut, then the lower signal ID; an
// interval that overlaps one kept is skipped whole, so overlapping limits
// never add up. It is a pure function of its arguments.
func Convert(events []oadr3.Event, cfg ConvertConfig, now time.Time) ([]Intent, []Skip) {
	var all []Intent
	var skips []Skip
	for _, ev := range events {
		in, sk := convertEvent(ev, cfg, now)
		all = append(all, in...)
		skips = append(skips, sk...)
	}
	slices.SortFunc(all, func(a, b Intent) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), -cmp.Compare(a.AmountW, b.AmountW), strings.Compare(a.SignalID, b.SignalID))
	})
	var kept []Intent
	for _, in := range all {
		if i := slices.IndexFunc(kept, func(k Intent) bool { return in.Start.Before(k.End) && k.Start.Before(in.End) }); i >= 0 {
			skips = append(skips, Skip{in.EventID, in.Interval, fmt.Sprintf("overlaps %s, which ranks higher", kept[i].SignalID)})
			continue
		}
		kept = append(kept, in)
	}
	slices.SortFunc(kept, func(a, b Intent) int {
		return cmp.Or(a.Start.Compare(b.Start), strings.Compare(a.SignalID, b.SignalID))
	})
	return kept, skips
}

// convertEvent is Convert for one event, before priorities.
func convertEvent(ev oadr3.Event, cfg ConvertConfig, now time.Time) ([]Intent, []Skip) {
	id := deref(ev.Id)
	if id == "" {
		return nil, []Skip{{Reason: "event without an id"}}
	}
	if err := gridmesh.HomeID(signalID(id, 0)).Validate(); err != nil {
		// The specification's objectID alphabet is gridmesh's; a VTN
		// that breaks it gets its event refused rather than renamed.
		return nil, []Skip{{EventID: id, Reason: "event id outside [A-Za-z0-9_-]"}}
	}
	prio := noPriority
	if ev.Priority != nil && *ev.Priority >= 0 {
		prio = *ev.Priority
	}
	units := payloadUnits(ev)
	var out []Intent
	var skips []Skip
	windows, err := intervalWindows(ev)
	if err != nil {
		return nil, []Skip{{EventID: id, Reason: err.Error()}}
	}
	for i, iv := range ev.Intervals {
		w := windows[i]
		if !w.end.After(now) {
			continue // over: nothing to hold
		}
		for _, p := range iv.Payloads {
			amount, reason := cutOf(p, units[p.Type], cfg)
			if reason != "" {
				skips = append(skips, Skip{id, iv.Id, reason})
				continue
			}
			if amount <= 0 {
				continue // asks no cut (a limit above the baseline, SIMPLE level 0)
			}
			out = append(out, Intent{
				SignalID: signalID(id, iv.Id), EventID: id, Interval: iv.Id, Priority: prio,
				Start: w.start, End: w.end, AmountW: min(amount, gridmesh.MaxRegionPowerW), Payload: p.Type,
			})
		}
	}
	return out, skips
}

// signalID names an interval's signal within gridmesh's identifier
// alphabet and length.
func signalID(eventID string, interval int32) string {
	s := fmt.Sprintf("oadr-%s-%d", eventID, interval)
	if len(s) > gridmesh.MaxIDLen {
		s = s[len(s)-gridmesh.MaxIDLen:]
	}
	return s
}

// cutOf is the cut a payload asks, or why it asks none the bridge can
// act on.
func cutOf(p oadr3.ValuesMap, unitW float64, cfg ConvertConfig) (gridmesh.W, string) {
	switch p.Type {
	case PayloadImportCapacityLimit:
		if cfg.BaselineImportW <= 0 {
			return 0, "IMPORT_CAPACITY_LIMIT: no baseline import configured"
		}
		v, ok := firstNumber(p)
		if !ok || v < 0 {
			return 0, "IMPORT_CAPACITY_LIMIT: no non-negative number"
		}
		return cfg.BaselineImportW - gridmesh.W(v*unitW), ""
	case PayloadSimple:
		if cfg.SimpleLevelW <= 0 {
			return 0, "SIMPLE: no level size configured"
		}
		v, ok := firstNumber(p)
		if !ok || v != math.Trunc(v) || v < 0 || v > 3 {
			return 0, "SIMPLE: level not 0, 1, 2 or 3"
		}
		return gridmesh.W(v) * cfg.SimpleLevelW, ""
	case PayloadExportCapacityLimit:
		return 0, "EXPORT_CAPACITY_LIMIT: not supported (the signal vocabulary has no export cut)"
	case PayloadPrice:
		return 0, "PRICE: not acted on (the signal vocabulary has no price signal)"
	}
	return 0, p.Type + ": not supported"
}

// firstNumber is a payload's first value as a finite number.
func firstNumber(p oadr3.ValuesMap) (float64, bool) {
	if len(p.Values) == 0 {
		return 0, false
	}
	if f, err := p.Values[0].AsValuesMapValues0(); err == nil && !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) {
		return float64(f), true
	}
	return 0, false
}

// payloadUnits is watts per unit of each payload type's values, from the
// event's payload descriptors: KW unless they say W or MW.
func payloadUnits(ev oadr3.Event) map[string]float64 {
	out := map[string]float64{}
	if ev.PayloadDescriptors == nil {
		return withDefaultUnits(out)
	}
	for _, d := range *ev.PayloadDescriptors {
		switch strings.ToUpper(deref(d.Units)) {
		case "W":
			out[d.PayloadType] = 1
		case "MW":
			out[d.PayloadType] = 1e6
		default:
			out[d.PayloadType] = 1e3
		}
	}
	return withDefaultUnits(out)
}

func withDefaultUnits(m map[string]float64) map[string]float64 {
	for _, t := range []string{PayloadImportCapacityLimit, PayloadExportCapacityLimit} {
		if _, ok := m[t]; !ok {
			m[t] = 1e3
		}
	}
	return m
}

// window is one interval's [start, end).
type window struct{ start, end time.Time }

// intervalWindows places an event's intervals in time: an interval's own
// intervalPeriod overrides the event's; an interval without one starts
// where the previous one ended (the first at the event's start) and
// lasts the event's duration. A duration of zero means "until further
// notice" for a limit: it is held for gridmesh.MaxSignalDurationMs.
func intervalWindows(ev oadr3.Event) ([]window, error) {
	var next time.Time
	var dur time.Duration
	if ev.IntervalPeriod != nil {
		d, err := ParseDuration(deref(ev.IntervalPeriod.Duration))
		if err != nil {
			return nil, fmt.Errorf("event intervalPeriod: %w", err)
		}
		if next, err = parseStart(ev.IntervalPeriod.Start, time.Time{}); err != nil {
			return nil, fmt.Errorf("event intervalPeriod: %w", err)
		}
		dur = d
	}
	out := make([]window, len(ev.Intervals))
	for i, iv := range ev.Intervals {
		start, d := next, dur
		if iv.IntervalPeriod != nil {
			var err error
			if start, err = parseStart(iv.IntervalPeriod.Start, next); err != nil {
				return nil, fmt.Errorf("interval %d: %w", iv.Id, err)
			}
			if iv.IntervalPeriod.Duration != nil {
				if d, err = ParseDuration(*iv.IntervalPeriod.Duration); err != nil {
					return nil, fmt.Errorf("interval %d: %w", iv.Id, err)
				}
			}
		}
		if start.IsZero() {
			return nil, fmt.Errorf("interval %d has no start (a relative start needs an absolute one before it)", iv.Id)
		}
		if d <= 0 || d > gridmesh.MaxSignalDurationMs*time.Millisecond {
			d = gridmesh.MaxSignalDurationMs * time.Millisecond
		}
		out[i] = window{start, start.Add(d)}
		next = start.Add(d)
	}
	return out, nil
}

// parseStart reads an intervalPeriod's start: an RFC 3339 time, or the
// User Guide's "0000-00-00" placeholder for "right after the previous
// interval", which is prev (zero when there is none: the caller refuses
// it, as the bridge does not guess when an event it polled began).
func parseStart(s oadr3.DateTime, prev time.Time) (time.Time, error) {
	if strings.HasPrefix(s, "0000-00-00") {
		return prev, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("start %q: %w", s, err)
	}
	return t, nil
}

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
