package openadr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxDuration bounds a parsed duration (a year): beyond any event's
// interval, far from overflow.
const maxDuration = 366 * 24 * time.Hour

// ParseDuration reads an ISO 8601 duration as OpenADR 3 writes them
// (PT1H, PT15M, P1D, PT0.5S, P1W, "" for PT0S). Years and months are
// refused: their length depends on the calendar, and no event interval
// needs them. Negative durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" || rest == "T" {
		return 0, fmt.Errorf("duration %q: not ISO 8601 (P...)", s)
	}
	date, clock, hasT := strings.Cut(rest, "T")
	if hasT && clock == "" {
		return 0, fmt.Errorf("duration %q: T without a time", s)
	}
	d, err := durationPart(date, "WD", []time.Duration{7 * 24 * time.Hour, 24 * time.Hour})
	if err != nil {
		return 0, fmt.Errorf("duration %q: %w", s, err)
	}
	c, err := durationPart(clock, "HMS", []time.Duration{time.Hour, time.Minute, time.Second})
	if err != nil {
		return 0, fmt.Errorf("duration %q: %w", s, err)
	}
	if d+c > maxDuration {
		return 0, fmt.Errorf("duration %q: over %v", s, maxDuration)
	}
	return d + c, nil
}

// durationPart sums number-unit pairs whose units are letters of order
// (lengths: the same index of lengths), each at most once and in that
// order.
func durationPart(s, order string, lengths []time.Duration) (time.Duration, error) {
	var total time.Duration
	next := 0 // the first letter of order still allowed
	for s != "" {
		i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
		if i <= 0 {
			return 0, errors.New("a number must precede each unit")
		}
		k := strings.IndexByte(order[next:], s[i])
		if k < 0 {
			return 0, fmt.Errorf("unit %q not allowed here", s[i])
		}
		next += k + 1
		unit := lengths[next-1]
		v, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || v < 0 || v > float64(maxDuration/unit)+1 {
			return 0, fmt.Errorf("number %q out of range", s[:i])
		}
		if s[i] != 'S' && strings.Contains(s[:i], ".") {
			return 0, errors.New("only seconds may have a fraction")
		}
		total += time.Duration(v * float64(unit))
		s = s[i+1:]
	}
	return total, nil
}
