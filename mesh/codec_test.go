package mesh

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/gridmesh/gridmesh"
)

func sampleTelemetry() gridmesh.Telemetry {
	return gridmesh.Telemetry{
		Version:      gridmesh.WireVersion,
		Home:         "home-0007",
		Neighborhood: "feeder-12",
		Seq:          42,
		AtMs:         1_764_000_000_123,
		NetW:         -1234.5,
		BaseW:        800,
		Battery: gridmesh.Flexibility{
			PowerW: -2034.5, MinW: -5000, MaxW: 4600, SoC: 0.62,
			CapacityWh: 13500, ChargeWh: 5130, DischargeWh: 8370,
		},
		Addrs: []string{"/ip4/127.0.0.1/tcp/4001", "/ip6/::1/tcp/4001"},
	}
}

func samplePlan(homes int) gridmesh.Plan {
	p := gridmesh.Plan{
		Version:      gridmesh.WireVersion,
		Neighborhood: "feeder-12",
		Epoch:        gridmesh.Epoch{Term: 3, Index: 118},
		IssuedAtMs:   1_764_000_000_000,
		LeaseMs:      5000,
		Target:       gridmesh.Target{Seq: 9, ImportW: -25_000},
		ShortfallW:   1.25,
	}
	for i := range homes {
		p.Setpoints = append(p.Setpoints, gridmesh.Setpoint{
			Home: gridmesh.HomeID(fmt.Sprintf("home-%04d", i)),
			NetW: gridmesh.W(-500 - 3.5*float64(i)),
		})
	}
	return p
}

func TestTelemetryRoundTrip(t *testing.T) {
	noAddrs := sampleTelemetry()
	noAddrs.Addrs = nil
	emptyAddrs := sampleTelemetry()
	emptyAddrs.Addrs = []string{}
	clustered := sampleTelemetry()
	clustered.Cluster, clustered.Joined, clustered.Applied = "12D3KooW-cluster", true, 42
	founding := sampleTelemetry()
	founding.Founder = "12D3KooW-founder"
	joining := sampleTelemetry()
	joining.Joining = "1768500002620-12D3KooW-cluster"
	unread := sampleTelemetry()
	unread.NoReading, unread.NetW, unread.BaseW, unread.Battery, unread.Loads = true, 0, 0, gridmesh.Flexibility{}, nil
	for name, in := range map[string]gridmesh.Telemetry{
		"full": sampleTelemetry(), "nil addrs": noAddrs, "empty addrs": emptyAddrs, "clustered": clustered, "founding": founding,
		"joining": joining, "no reading": unread,
	} {
		t.Run(name, func(t *testing.T) {
			b, err := EncodeTelemetry(in)
			if err != nil {
				t.Fatal(err)
			}
			out, err := DecodeTelemetry(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(in, out) {
				t.Fatalf("round trip changed the message:\n in  %+v\n out %+v", in, out)
			}
			again, _ := EncodeTelemetry(out)
			if !bytes.Equal(b, again) {
				t.Fatal("encoding is not deterministic")
			}
		})
	}
}

func TestPlanRoundTrip(t *testing.T) {
	for _, homes := range []int{0, 1, 250} {
		t.Run(fmt.Sprint(homes, " homes"), func(t *testing.T) {
			in := samplePlan(homes)
			b, err := EncodePlan(in)
			if err != nil {
				t.Fatal(err)
			}
			out, err := DecodePlan(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(in, out) {
				t.Fatalf("round trip changed the plan:\n in  %+v\n out %+v", in, out)
			}
		})
	}
}

// The size cap binds long before gridmesh.MaxSetpoints: check that a plan
// for a realistic neighborhood fits and that an oversized one is refused
// by the encoder rather than by every receiver.
func TestEncodePlanSize(t *testing.T) {
	b, err := EncodePlan(samplePlan(1000))
	if err != nil {
		t.Fatalf("1000 homes: %v", err)
	}
	t.Logf("1000 setpoints with 9-character home IDs: %d bytes", len(b))

	big := samplePlan(0)
	for i := range 1000 {
		big.Setpoints = append(big.Setpoints, gridmesh.Setpoint{
			Home: gridmesh.HomeID(fmt.Sprintf("%060d", i)), NetW: 1,
		})
	}
	if _, err := EncodePlan(big); !errors.Is(err, gridmesh.ErrInvalid) {
		t.Fatalf("oversized plan: got %v, want ErrInvalid", err)
	}
}

func TestEncodeRefusesInvalid(t *testing.T) {
	tm := sampleTelemetry()
	tm.Battery.SoC = 1.5
	if _, err := EncodeTelemetry(tm); !errors.Is(err, gridmesh.ErrInvalid) {
		t.Errorf("telemetry: got %v, want ErrInvalid", err)
	}
	p := samplePlan(2)
	p.LeaseMs = 0
	if _, err := EncodePlan(p); !errors.Is(err, gridmesh.ErrInvalid) {
		t.Errorf("plan: got %v, want ErrInvalid", err)
	}
}

// mutate re-encodes the telemetry sample as a generic map after f has
// changed it, so tests can build messages our types cannot express.
func mutate(t *testing.T, f func(m map[any]any)) []byte {
	t.Helper()
	b, err := EncodeTelemetry(sampleTelemetry())
	if err != nil {
		t.Fatal(err)
	}
	var m map[any]any
	if err := decMode.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := encMode.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDecodeRefuses(t *testing.T) {
	valid, err := EncodeTelemetry(sampleTelemetry())
	if err != nil {
		t.Fatal(err)
	}
	if valid[0] != 0xa9 {
		t.Fatalf("expected a 9-pair map header, got %#x", valid[0])
	}
	withHeader := func(h byte, tail ...byte) []byte {
		return append(append([]byte{h}, valid[1:]...), tail...)
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrUndecodable},
		{"garbage", []byte{0xff, 0x00, 0x13}, ErrUndecodable},
		{"oversized", append(bytes.Clone(valid), make([]byte, MaxMessageBytes)...), ErrUndecodable},
		{"trailing bytes", append(bytes.Clone(valid), 0x00), ErrUndecodable},
		{"truncated", valid[:len(valid)-1], ErrUndecodable},
		{"unknown field", mutate(t, func(m map[any]any) { m[uint64(10)] = uint64(1) }), ErrUndecodable},
		{"field by name", mutate(t, func(m map[any]any) { delete(m, uint64(1)); m["1"] = uint64(1) }), ErrUndecodable},
		{"wrong type", mutate(t, func(m map[any]any) { m[uint64(1)] = "one" }), ErrUndecodable},
		{"duplicate key", withHeader(0xaa, 0x01, 0x01), ErrUndecodable},
		{"indefinite length", withHeader(0xbf, 0xff), ErrUndecodable},
		{"tag", append([]byte{0xd8, 0x20}, valid...), ErrUndecodable},
		{"array not map", []byte{0x80}, ErrUndecodable},
		{"null", []byte{0xf6}, gridmesh.ErrInvalid},
		{"wrong version", mutate(t, func(m map[any]any) { m[uint64(1)] = uint64(2) }), gridmesh.ErrInvalid},
		{"NaN power", mutate(t, func(m map[any]any) { m[uint64(6)] = nan() }), gridmesh.ErrInvalid},
		{"bad home ID", mutate(t, func(m map[any]any) { m[uint64(2)] = "home/../x" }), gridmesh.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeTelemetry(tc.in)
			t.Log(err)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			other := ErrUndecodable
			if tc.want == ErrUndecodable {
				other = gridmesh.ErrInvalid
			}
			if errors.Is(err, other) {
				t.Fatalf("%v wraps both reasons", err)
			}
		})
	}
}

func TestDecodePlanRefusesTelemetry(t *testing.T) {
	b, err := EncodeTelemetry(sampleTelemetry())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodePlan(b); err == nil {
		t.Fatal("a telemetry message decoded as a plan")
	}
	pb, err := EncodePlan(samplePlan(3))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeTelemetry(pb); err == nil {
		t.Fatal("a plan decoded as telemetry")
	}
	unsorted := samplePlan(3)
	unsorted.Setpoints[0], unsorted.Setpoints[1] = unsorted.Setpoints[1], unsorted.Setpoints[0]
	raw, err := encMode.Marshal(unsorted)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodePlan(raw); !errors.Is(err, gridmesh.ErrInvalid) {
		t.Fatalf("unsorted setpoints: got %v, want ErrInvalid", err)
	}
	if _, err := DecodePlan([]byte(strings.Repeat("\x81", 10) + "\x80")); !errors.Is(err, ErrUndecodable) {
		t.Fatalf("deep nesting: got %v, want ErrUndecodable", err)
	}
}

func nan() float64 {
	var zero float64
	return zero / zero
}

// checkRoundTrip holds for anything a decoder accepts: the canonical
// re-encoding decodes to the same value and re-encodes to the same bytes.
func checkRoundTrip[M any](t *testing.T, data []byte, dec func([]byte) (M, error)) {
	v1, err := dec(data)
	if err != nil {
		if !errors.Is(err, ErrUndecodable) && !errors.Is(err, gridmesh.ErrInvalid) {
			t.Fatalf("error wraps neither reason: %v", err)
		}
		return
	}
	b1, err := encMode.Marshal(v1)
	if err != nil {
		t.Fatalf("re-encode: %v", err)
	}
	if len(b1) > MaxMessageBytes {
		// The canonical form spells out every field, so input just under
		// the cap that omitted some can re-encode just over it.
		return
	}
	v2, err := dec(b1)
	if err != nil {
		t.Fatalf("canonical re-encoding does not decode: %v", err)
	}
	if !reflect.DeepEqual(v1, v2) {
		t.Fatalf("value changed across re-encoding:\n %+v\n %+v", v1, v2)
	}
	b2, err := encMode.Marshal(v2)
	if err != nil || !bytes.Equal(b1, b2) {
		t.Fatalf("re-encoding not stable (err %v)", err)
	}
}

func FuzzDecodeTelemetry(f *testing.F) {
	for _, tm := range []gridmesh.Telemetry{sampleTelemetry(), islandTelemetry(), canDisconnectTelemetry(), {
		Version: gridmesh.WireVersion, Home: "h", Neighborhood: "n",
	}, {
		// A home without state asking to join, its devices not answering.
		Version: gridmesh.WireVersion, Home: "h", Neighborhood: "n", Joining: "1768500002620-12D3KooW", NoReading: true,
	}} {
		b, err := EncodeTelemetry(tm)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xa1, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) { checkRoundTrip(t, data, DecodeTelemetry) })
}

func FuzzDecodePlan(f *testing.F) {
	for _, homes := range []int{0, 1, 5} {
		b, err := EncodePlan(samplePlan(homes))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	if b, err := EncodePlan(islandPlan(3)); err == nil {
		f.Add(b)
	} else {
		f.Fatal(err)
	}
	f.Add([]byte{0xa1, 0x08, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) { checkRoundTrip(t, data, DecodePlan) })
}
