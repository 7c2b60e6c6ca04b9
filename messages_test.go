package gridmesh_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/gridmesh/gridmesh"
)

func validTelemetry() gridmesh.Telemetry {
	return gridmesh.Telemetry{
		Version: gridmesh.WireVersion, Home: "h1", Neighborhood: "n1", Seq: 1, AtMs: 1,
		NetW: 500, BaseW: 800,
		Battery: gridmesh.Flexibility{PowerW: -300, MinW: -5000, MaxW: 5000, SoC: 0.5, CapacityWh: 13500, ChargeWh: 6000, DischargeWh: 6000},
		Addrs:   []string{"/ip4/127.0.0.1/tcp/4001"},
	}
}

func validPlan() gridmesh.Plan {
	return gridmesh.Plan{
		Version: gridmesh.WireVersion, Neighborhood: "n1", Epoch: gridmesh.Epoch{Term: 2, Index: 7},
		IssuedAtMs: 1, LeaseMs: 3000, Target: gridmesh.Target{Seq: 1, ImportW: 1000},
		Setpoints: []gridmesh.Setpoint{{Home: "a", NetW: 400}, {Home: "b", NetW: 600}},
	}
}

func TestTelemetryValidate(t *testing.T) {
	if err := validTelemetry().Validate(); err != nil {
		t.Fatalf("valid telemetry refused: %v", err)
	}
	nan := gridmesh.W(math.NaN())
	for name, mutate := range map[string]func(*gridmesh.Telemetry){
		"version":           func(m *gridmesh.Telemetry) { m.Version = 2 },
		"empty home":        func(m *gridmesh.Telemetry) { m.Home = "" },
		"home with slash":   func(m *gridmesh.Telemetry) { m.Home = "a/b" },
		"long home":         func(m *gridmesh.Telemetry) { m.Home = gridmesh.HomeID(strings.Repeat("a", gridmesh.MaxIDLen+1)) },
		"nan net":           func(m *gridmesh.Telemetry) { m.NetW = nan },
		"huge base":         func(m *gridmesh.Telemetry) { m.BaseW = 2 * gridmesh.MaxHomePowerW },
		"soc above one":     func(m *gridmesh.Telemetry) { m.Battery.SoC = 1.5 },
		"range without 0":   func(m *gridmesh.Telemetry) { m.Battery.MinW = 100 },
		"negative energy":   func(m *gridmesh.Telemetry) { m.Battery.ChargeWh = -1 },
		"too many addrs":    func(m *gridmesh.Telemetry) { m.Addrs = make([]string, gridmesh.MaxAddrs+1) },
		"empty addr":        func(m *gridmesh.Telemetry) { m.Addrs = []string{""} },
		"inf battery":       func(m *gridmesh.Telemetry) { m.Battery.PowerW = gridmesh.W(math.Inf(1)) },
		"bad neighborhood":  func(m *gridmesh.Telemetry) { m.Neighborhood = "x y" },
		"cluster unjoined":  func(m *gridmesh.Telemetry) { m.Cluster, m.Joined = "c", false },
		"founder joined":    func(m *gridmesh.Telemetry) { m.Founder, m.Joined = "f", true },
		"joining joined":    func(m *gridmesh.Telemetry) { m.Joining, m.Joined = "c", true },
		"joining founder":   func(m *gridmesh.Telemetry) { m.Joining, m.Founder = "c", "f" },
		"long joining":      func(m *gridmesh.Telemetry) { m.Joining = strings.Repeat("c", gridmesh.MaxClusterLen+1) },
		"no reading, power": func(m *gridmesh.Telemetry) { m.NoReading = true },
		"no reading, loads": func(m *gridmesh.Telemetry) {
			m.NoReading, m.NetW, m.BaseW, m.Battery = true, 0, 0, gridmesh.Flexibility{}
			m.Loads = &gridmesh.HomeLoads{}
		},
	} {
		m := validTelemetry()
		mutate(&m)
		if err := m.Validate(); !errors.Is(err, gridmesh.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}

// A report without a reading is valid when it carries no power figures.
func TestTelemetryWithoutReadingValidates(t *testing.T) {
	m := validTelemetry()
	m.NoReading, m.NetW, m.BaseW, m.Battery = true, 0, 0, gridmesh.Flexibility{}
	if err := m.Validate(); err != nil {
		t.Fatalf("a report without a reading refused: %v", err)
	}
}

func TestPlanValidate(t *testing.T) {
	if err := validPlan().Validate(); err != nil {
		t.Fatalf("valid plan refused: %v", err)
	}
	for name, mutate := range map[string]func(*gridmesh.Plan){
		"version":      func(p *gridmesh.Plan) { p.Version = 0 },
		"no lease":     func(p *gridmesh.Plan) { p.LeaseMs = 0 },
		"long lease":   func(p *gridmesh.Plan) { p.LeaseMs = gridmesh.MaxLeaseMs + 1 },
		"unsorted":     func(p *gridmesh.Plan) { p.Setpoints[0], p.Setpoints[1] = p.Setpoints[1], p.Setpoints[0] },
		"duplicate":    func(p *gridmesh.Plan) { p.Setpoints[1].Home = p.Setpoints[0].Home },
		"nan setpoint": func(p *gridmesh.Plan) { p.Setpoints[0].NetW = gridmesh.W(math.NaN()) },
		"nan target":   func(p *gridmesh.Plan) { p.Target.ImportW = gridmesh.W(math.NaN()) },
		"bad home":     func(p *gridmesh.Plan) { p.Setpoints[0].Home = "" },
	} {
		p := validPlan()
		p.Setpoints = append([]gridmesh.Setpoint(nil), p.Setpoints...)
		mutate(&p)
		if err := p.Validate(); !errors.Is(err, gridmesh.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}

func TestEpochOrder(t *testing.T) {
	e := gridmesh.Epoch{Term: 3, Index: 10}
	for _, c := range []struct {
		o     gridmesh.Epoch
		after bool
	}{
		{gridmesh.Epoch{Term: 2, Index: 99}, true},
		{gridmesh.Epoch{Term: 3, Index: 9}, true},
		{gridmesh.Epoch{Term: 3, Index: 10}, false},
		{gridmesh.Epoch{Term: 3, Index: 11}, false},
		{gridmesh.Epoch{Term: 4, Index: 1}, false},
	} {
		if got := e.After(c.o); got != c.after {
			t.Errorf("%v.After(%v) = %v, want %v", e, c.o, got, c.after)
		}
	}
}

func TestSetpointFor(t *testing.T) {
	p := validPlan()
	for _, h := range []gridmesh.HomeID{"a", "b"} {
		s, ok := p.SetpointFor(h)
		if !ok || s.Home != h {
			t.Errorf("SetpointFor(%s) = %v, %v", h, s, ok)
		}
	}
	for _, h := range []gridmesh.HomeID{"", "0", "ab", "c"} {
		if _, ok := p.SetpointFor(h); ok {
			t.Errorf("SetpointFor(%q) found a setpoint", h)
		}
	}
}

func TestPowerHelpers(t *testing.T) {
	if got := gridmesh.W(7).Clamp(-5, 5); got != 5 {
		t.Errorf("Clamp high = %v", got)
	}
	if got := gridmesh.W(-7).Clamp(-5, 5); got != -5 {
		t.Errorf("Clamp low = %v", got)
	}
	if gridmesh.W(math.NaN()).Finite() || !gridmesh.W(1).Finite() {
		t.Error("Finite wrong")
	}
	if s := gridmesh.W(12_345).String(); s != "12.3kW" {
		t.Errorf("String = %q", s)
	}
	if s := gridmesh.W(-800).String(); s != "-800W" {
		t.Errorf("String = %q", s)
	}
}
