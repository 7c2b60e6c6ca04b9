package consensus

import (
	"bytes"
	"crypto/ed25519"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

// testRevocation is a revocation of peer p in neighborhood "nb" in its
// binary form, signed by a key of its own.
func testRevocation(t testing.TB, p string, issuedMs int64) []byte {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	r := gridmesh.Revocation{Version: gridmesh.WireVersion, Neighborhood: "nb", Peer: p, IssuedMs: issuedMs}
	if err := r.Sign(priv); err != nil {
		t.Fatal(err)
	}
	b, err := r.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBeaconWire(t *testing.T) {
	rev := testRevocation(t, "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo", 1)
	full := make([][]byte, BeaconRevocations)
	for i := range full {
		full[i] = rev
	}
	plan := bytes.Repeat([]byte{0xa5}, maxBeaconPlanBytes)
	for _, b := range []Beacon{{Term: 1, Cluster: "a"}, {Term: 1 << 62, Cluster: strings.Repeat("z", 128)}, {Term: 2, Cluster: "a", Revocations: [][]byte{rev}}, {Term: 2, Cluster: strings.Repeat("z", 128), Revocations: full},
		{Term: 2, Cluster: "a", Plan: []byte{1}}, {Term: 2, Cluster: strings.Repeat("z", 128), Revocations: full, Plan: plan}} {
		raw, err := encodeBeacon(b)
		if err != nil {
			t.Fatalf("encode %+v: %v", b, err)
		}
		if len(raw) > maxBeaconBytes {
			t.Fatalf("a beacon of %d bytes, more than the %d a receiver reads", len(raw), maxBeaconBytes)
		}
		got, err := decodeBeacon(raw)
		if err != nil || !reflect.DeepEqual(got, b) {
			t.Fatalf("decode(encode(%+v)) = %+v, %v", b, got, err)
		}
	}
	for _, b := range []Beacon{{Term: 0, Cluster: "a"}, {Term: 1}, {Term: 1, Cluster: "a b"}, {Term: 1, Cluster: strings.Repeat("z", 129)}, {Term: 1, Cluster: "a", Revocations: append(full, rev)}, {Term: 1, Cluster: "a", Plan: append(plan, 0)}} {
		if _, err := encodeBeacon(b); err == nil {
			t.Errorf("encode %+v: no error", b)
		}
	}
	good, _ := encodeBeacon(Beacon{Term: 3, Cluster: "0001-a"})
	withRev, _ := encodeBeacon(Beacon{Term: 3, Cluster: "0001-a", Revocations: [][]byte{rev}})
	badRev := bytes.Clone(withRev)
	badRev[len(badRev)-len(rev)] ^= 0xff // the revocation's version
	withPlan, _ := encodeBeacon(Beacon{Term: 3, Cluster: "0001-a", Plan: []byte("plan")})
	emptyPlan := append(append([]byte{beaconPlanVersion}, good[1:]...), 0, 0, 0, 0)
	for name, raw := range map[string][]byte{
		"plan cut short":         withPlan[:len(withPlan)-1],
		"plan without length":    append([]byte{beaconPlanVersion}, good[1:]...),
		"plan of length 0":       emptyPlan,
		"plan after version 1":   append([]byte{beaconVersion}, withPlan[1:]...),
		"trailing after plan":    append(bytes.Clone(withPlan), 'x'),
		"revocation cut short":   withRev[:len(withRev)-1],
		"revocation of bad form": badRev,
		"count beyond the bound": append(bytes.Clone(good[:len(good)-1]), BeaconRevocations+1),
		"count without bodies":   append(bytes.Clone(good[:len(good)-1]), 1),
		"empty":                  nil,
		"short":                  good[:5],
		"version":                append([]byte{3}, good[1:]...),
		"term 0":                 append(append([]byte{1}, make([]byte, 8)...), good[9:]...),
		"trailing":               append(bytes.Clone(good), 'x'),
		"truncated":              good[:len(good)-1],
		"bad name":               append(append(bytes.Clone(good[:len(good)-2]), ' '), 0),
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
	withRev, _ := encodeBeacon(Beacon{Term: 7, Cluster: "0001-a", Revocations: [][]byte{testRevocation(f, "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo", 1)}})
	f.Add(withRev)
	withPlan, _ := encodeBeacon(Beacon{Term: 7, Cluster: "0001-a", Plan: []byte("plan")})
	f.Add(withPlan)
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
