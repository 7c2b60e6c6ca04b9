package homefile_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/node/homefile"
)

// With no servers the neighborhood organizes itself: three founders by
// default, as many as bootstrap_expect says; a static list excludes it.
func TestRaftFormation(t *testing.T) {
	build := buildGood
	h, err := build("")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Config.Raft.Servers) != 0 || h.Config.Formation.Expect != 3 {
		t.Fatalf("default: servers %v, expect %d; want self-organizing with 3 founders", h.Config.Raft.Servers, h.Config.Formation.Expect)
	}
	if h, err = build("raft: {bootstrap_expect: 1}\n"); err != nil || h.Config.Formation.Expect != 1 {
		t.Fatalf("bootstrap_expect 1: %v, %+v", err, h)
	}
	def := h.Config
	if h, err = build("raft: {timing: wan}\n"); err != nil {
		t.Fatalf("timing wan: %v", err)
	}
	if r := h.Config.Raft; r.HeartbeatTimeout != time.Second || r.ElectionTimeout != time.Second ||
		r.LeaderLeaseTimeout != 500*time.Millisecond || h.Config.PlanLease != 6*time.Second {
		t.Fatalf("timing wan: raft %v/%v/%v, plan lease %v", r.HeartbeatTimeout, r.ElectionTimeout, r.LeaderLeaseTimeout, h.Config.PlanLease)
	}
	if h, err = build("raft: {timing: lan}\n"); err != nil || h.Config.Raft.ElectionTimeout != def.Raft.ElectionTimeout || h.Config.PlanLease != def.PlanLease {
		t.Fatalf("timing lan: %v; want the defaults", err)
	}
	for name, extra := range map[string]string{
		"zero":        "raft: {bootstrap_expect: 0}\n",
		"timing":      "raft: {timing: fast}\n",
		"both":        "raft: {bootstrap_expect: 3, servers: [{id: 12D3KooWself, voter: true}]}\n",
		"not listed":  "raft: {servers: [{id: 12D3KooWother, voter: true}]}\n",
		"misspelling": "raft: {bootstrap_expected: 3}\n",
	} {
		if _, err := build(extra); err == nil || !strings.Contains(err.Error(), "raft") && !strings.Contains(err.Error(), "bootstrap") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// reserve: turns the leader's evening-peak reserve on, with the
// neighborhood's PV placed and sized; a PV model off the globe is refused.
func TestReserve(t *testing.T) {
	f, err := homefile.Parse([]byte(good + "reserve: {latitude: 51.5, longitude: -0.1, pv_peak: 40 kW}\n"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := homefile.Build(context.Background(), f, "12D3KooWself", nil)
	if err != nil {
		t.Fatal(err)
	}
	r := h.Config.Reserve
	if r.Lookahead <= 0 || r.PV.PeakW != 40_000 || r.PV.LatitudeDeg != 51.5 || r.PeakStartHour != 17 {
		t.Fatalf("reserve %+v", r)
	}
	f, err = homefile.Parse([]byte(good + "reserve: {latitude: 95, longitude: 0, pv_peak: 40 kW}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := homefile.Build(context.Background(), f, "12D3KooWself", nil); err == nil || !strings.Contains(err.Error(), "reserve") {
		t.Fatalf("latitude 95: %v", err)
	}
	if _, err := homefile.Parse([]byte(good + "reserve: {latitude: 51.5, longitud: 0}\n")); err == nil {
		t.Fatal("a misspelled reserve key was accepted")
	}
}

// buildGood parses and builds the good home file with extra appended, as
// the home whose peer ID is 12D3KooWself.
func buildGood(extra string) (*homefile.Home, error) {
	f, err := homefile.Parse([]byte(good + extra))
	if err != nil {
		return nil, err
	}
	return homefile.Build(context.Background(), f, "12D3KooWself", nil)
}
