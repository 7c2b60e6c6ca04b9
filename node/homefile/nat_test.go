package homefile_test

import (
	"strings"
	"testing"

	"github.com/gridmesh/gridmesh/mesh"
)

// A home does not know whether it sits behind a NAT: every part of NAT
// traversal is on unless the file turns it off, one by one; a misspelled
// switch, or relays without AutoNAT to start them, are refused.
func TestNAT(t *testing.T) {
	build := buildGood
	h, err := build("")
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Config.Mesh.NAT; got != mesh.DefaultHomeNAT() || !got.QUIC || !got.AutoNAT || !got.RelayService || !got.AutoRelay || !got.HolePunching {
		t.Fatalf("default NAT %+v: want everything on", got)
	}
	if h, err = build("nat: {hole_punching: false, quic: false}\n"); err != nil {
		t.Fatal(err)
	}
	want := mesh.DefaultHomeNAT()
	want.HolePunching, want.QUIC = false, false
	if h.Config.Mesh.NAT != want {
		t.Fatalf("NAT %+v, want %+v", h.Config.Mesh.NAT, want)
	}
	if _, err := build("nat: {autonat: false}\n"); err == nil || !strings.Contains(err.Error(), "AutoNAT") {
		t.Fatalf("relays without AutoNAT: %v", err)
	}
	if _, err := build("nat: {autonat: false, relay_service: false, auto_relay: false}\n"); err != nil {
		t.Fatalf("AutoNAT off with the relays: %v", err)
	}
	if _, err := build("nat: {holepunching: false}\n"); err == nil {
		t.Fatal("a misspelled nat key was accepted")
	}
}
