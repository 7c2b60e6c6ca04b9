package node

import (
	"maps"
	"testing"
)

type fakeNet struct {
	rej, deg       map[string]uint64
	refused, other uint64
}

func (f *fakeNet) Rejections() map[string]uint64 { return maps.Clone(f.rej) }
func (f *fakeNet) Degraded() map[string]uint64   { return maps.Clone(f.deg) }
func (f *fakeNet) RefusedStreams() uint64        { return f.refused }
func (f *fakeNet) OtherClusterStreams() uint64   { return f.other }

// What a home refused stays counted when its network restarts: the sums
// never go back, and the newest network is counted once, open or closed.
func TestRefusalsCarriedAcrossNetworks(t *testing.T) {
	var c carried
	if got := c.counts(); got.RefusedStreams != 0 || len(got.Rejections) != 0 || len(got.Region) != 0 {
		t.Fatalf("before any network: %+v", got)
	}
	first := &fakeNet{rej: map[string]uint64{"non-member": 3, "admission-refused/no-certificate": 1}, refused: 2, other: 1}
	c.networkOpened(first)
	c.regionOpened(&fakeNet{rej: map[string]uint64{"signal/unsigned": 4}})
	first.rej["non-member"] = 5 // it counts on until it closes
	check := func(when string, rej map[string]uint64, region map[string]uint64, refused, other uint64) {
		t.Helper()
		got := c.counts()
		if !maps.Equal(got.Rejections, rej) || !maps.Equal(got.Region, region) || got.RefusedStreams != refused || got.OtherClusterStreams != other {
			t.Fatalf("%s: %+v, want rejections %v, region %v, streams %d/%d", when, got, rej, region, refused, other)
		}
	}
	check("first network", map[string]uint64{"non-member": 5, "admission-refused/no-certificate": 1}, map[string]uint64{"signal/unsigned": 4}, 2, 1)
	// The network restarts: the new one counts from zero, the sums do not.
	c.networkOpened(&fakeNet{rej: map[string]uint64{"non-member": 1}})
	c.regionOpened(&fakeNet{})
	check("second network", map[string]uint64{"non-member": 6, "admission-refused/no-certificate": 1}, map[string]uint64{"signal/unsigned": 4}, 2, 1)
}

// What admission did for slow peers is carried the same way.
func TestDegradedCarriedAcrossNetworks(t *testing.T) {
	var c carried
	c.networkOpened(&fakeNet{deg: map[string]uint64{"admission_late": 2}})
	c.networkOpened(&fakeNet{deg: map[string]uint64{"admission_late": 1, "admission_present_retries": 4}})
	want := map[string]uint64{"admission_late": 3, "admission_present_retries": 4}
	if got := c.counts().Degraded; !maps.Equal(got, want) {
		t.Fatalf("degraded %v, want %v", got, want)
	}
}
