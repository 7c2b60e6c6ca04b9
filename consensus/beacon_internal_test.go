package consensus

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestBeaconWire(t *testing.T) {
	for _, b := range []Beacon{{Term: 1, Cluster: "a"}, {Term: 1 << 62, Cluster: strings.Repeat("z", 128)}} {
		raw, err := encodeBeacon(b)
		if err != nil {
			t.Fatalf("encode %+v: %v", b, err)
		}
		got, err := decodeBeacon(raw)
		if err != nil || got != b {
			t.Fatalf("decode(encode(%+v)) = %+v, %v", b, got, err)
		}
	}
	for _, b := range []Beacon{{Term: 0, Cluster: "a"}, {Term: 1}, {Term: 1, Cluster: "a b"}, {Term: 1, Cluster: strings.Repeat("z", 129)}} {
		if _, err := encodeBeacon(b); err == nil {
			t.Errorf("encode %+v: no error", b)
		}
	}
	good, _ := encodeBeacon(Beacon{Term: 3, Cluster: "0001-a"})
	for name, raw := range map[string][]byte{
		"empty":     nil,
		"short":     good[:5],
		"version":   append([]byte{2}, good[1:]...),
		"term 0":    append(append([]byte{1}, make([]byte, 8)...), good[9:]...),
		"trailing":  append(bytes.Clone(good), 'x'),
		"truncated": good[:len(good)-1],
		"bad name":  append(bytes.Clone(good[:len(good)-1]), ' '),
	} {
		if _, err := decodeBeacon(raw); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// A beacon view takes newer terms, refreshes the same leader's term,
// refuses another leader in a term it holds fresh and any older term.
func TestBeaconViewTakesTermsForward(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var v beaconView
	steps := []struct {
		leader string
		term   uint64
		at     time.Duration
		taken  bool
	}{
		{"a", 3, 0, true},
		{"a", 3, time.Second, true},
		{"b", 3, 2 * time.Second, false},
		{"b", 2, 3 * time.Second, false},
		{"b", 4, 4 * time.Second, true},
		{"a", 4, 4*time.Second + BeaconMaxAge + time.Millisecond, true}, // b's went stale
	}
	for i, s := range steps {
		if got := v.take(s.leader, Beacon{Term: s.term, Cluster: "c"}, t0.Add(s.at)); got != s.taken {
			t.Fatalf("step %d: take(%s, %d) = %v, want %v", i, s.leader, s.term, got, s.taken)
		}
	}
	if l, term, _ := v.fresh(t0.Add(4*time.Second + BeaconMaxAge)); l != "a" || term != 4 {
		t.Fatalf("fresh = %s %d, want a 4", l, term)
	}
	if l, _, _ := v.fresh(t0.Add(5*time.Second + 2*BeaconMaxAge)); l != "" {
		t.Fatalf("fresh after BeaconMaxAge = %q, want none", l)
	}
}

func FuzzDecodeBeacon(f *testing.F) {
	good, _ := encodeBeacon(Beacon{Term: 7, Cluster: "0001-a"})
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 1, 200})
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := decodeBeacon(raw)
		if err != nil {
			return
		}
		again, err := encodeBeacon(b)
		if err != nil {
			t.Fatalf("decoded beacon does not encode: %v", err)
		}
		if !bytes.Equal(again, raw) {
			t.Fatalf("re-encoded %x, was %x", again, raw)
		}
	})
}
