package sunspec

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

// regSpace is a sparse register space; unset registers are refused, as a
// device refuses an address it does not have.
type regSpace map[uint32]uint16

func (r regSpace) read(addr, n uint16) ([]uint16, error) {
	out := make([]uint16, n)
	for i := range out {
		v, ok := r[uint32(addr)+uint32(i)]
		if !ok {
			return nil, fmt.Errorf("%w: address %d", ErrRefused, uint32(addr)+uint32(i))
		}
		out[i] = v
	}
	return out, nil
}

// put lays out a marker and a chain of models (id, length) from base,
// with an end marker, and returns each model's address.
func (r regSpace) put(base uint32, models ...[2]uint16) []uint32 {
	r[base], r[base+1] = markerHi, markerLo
	at := base + 2
	var addrs []uint32
	for _, m := range models {
		addrs = append(addrs, at)
		r[at], r[at+1] = m[0], m[1]
		for i := range uint32(m[1]) {
			r[at+2+i] = 0
		}
		at += 2 + uint32(m[1])
	}
	r[at], r[at+1] = endID, 0
	return addrs
}

func TestDiscoverFindsBaseAndChain(t *testing.T) {
	for _, base := range []uint16{0, 40000, 50000} {
		r := regSpace{}
		r.put(uint32(base), [2]uint16{1, 66}, [2]uint16{103, 50}, [2]uint16{124, 24})
		got, chain, err := discover(r.read, []uint16{40000, 0, 50000}, 10)
		if err != nil {
			t.Fatalf("base %d: %v", base, err)
		}
		want := []ModelHeader{{1, base + 2, 66}, {103, base + 70, 50}, {124, base + 122, 24}}
		if got != base || fmt.Sprint(chain) != fmt.Sprint(want) {
			t.Errorf("base %d: got %d %v, want %v", base, got, chain, want)
		}
	}
}

func TestDiscoverWithoutMarker(t *testing.T) {
	r := regSpace{40000: 1, 40001: 2}
	if _, _, err := discover(r.read, []uint16{40000, 0, 50000}, 10); !errors.Is(err, ErrNotSunSpec) {
		t.Fatalf("err = %v, want ErrNotSunSpec", err)
	}
	boom := errors.New("connection reset")
	fail := func(uint16, uint16) ([]uint16, error) { return nil, boom }
	if _, _, err := discover(fail, []uint16{40000}, 10); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the read error", err)
	}
}

func TestWalkModelsRefusesBadChains(t *testing.T) {
	long := regSpace{}
	long.put(40000, [2]uint16{1, 0}, [2]uint16{1, 0}, [2]uint16{1, 0})
	tests := map[string]struct {
		space regSpace
		base  uint16
	}{
		"past the register space": {regSpace{65000: markerHi, 65001: markerLo, 65002: 1, 65003: 600}, 65000},
		"no end marker":           {regSpace{65530: markerHi, 65531: markerLo, 65532: 1, 65533: 0, 65534: 1, 65535: 0}, 65530},
		"too many models":         {long, 40000},
		"header unreadable":       {regSpace{40000: markerHi, 40001: markerLo, 40002: 1, 40003: 4}, 40000},
	}
	for name, tc := range tests {
		if chain, err := walkModels(tc.space.read, tc.base, 2); err == nil {
			t.Errorf("%s: got chain %v, want an error", name, chain)
		}
	}
}

func TestScaling(t *testing.T) {
	sf := func(s int) uint16 { return uint16(int16(s)) }
	tests := []struct {
		got  value
		want value
	}{
		{u16(5000, sf(-2)), value{50, true}},
		{u16(1350, sf(1)), value{13500, true}},
		{u16(notUint16, sf(0)), value{}},
		{u16(7, notInt16), value{}},
		{u16(7, sf(11)), value{}},
		{i16(uint16(0xFFFF), sf(0)), value{-1, true}},
		{i16(uint16(65536-2500), sf(-1)), value{-250, true}},
		{i16(notInt16, sf(0)), value{}},
	}
	for i, tc := range tests {
		if tc.got.ok != tc.want.ok || math.Abs(tc.got.v-tc.want.v) > 1e-9 {
			t.Errorf("%d: got %+v, want %+v", i, tc.got, tc.want)
		}
	}
	if got := str([]uint16{0x6772, 0x6964, 0x6d65, 0x7368, 0, 0x4142}); got != "gridmesh" {
		t.Errorf("str = %q", got)
	}
	if got := str([]uint16{0x410a, 0x0742}); got != "A??B" {
		t.Errorf("str with control characters = %q", got)
	}
}
