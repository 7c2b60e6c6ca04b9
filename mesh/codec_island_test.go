package mesh

import (
	"errors"
	"reflect"
	"testing"

	"github.com/gridmesh/gridmesh"
)

// islandTelemetry is sampleTelemetry from an islanded home that reports
// its loads (Telemetry key 20).
func islandTelemetry() gridmesh.Telemetry {
	t := sampleTelemetry()
	t.Loads = &gridmesh.HomeLoads{
		Islanded: true, CriticalW: 310.5, EVW: 7400, HeatPumpW: 2100, OtherW: 250,
		PVAvailableW: 1800, PVW: 1200, Shed: gridmesh.ShedEV | gridmesh.ShedHeatPump,
	}
	return t
}

// canDisconnectTelemetry is islandTelemetry from a home whose loads can
// be disconnected whole (HomeLoads key 9).
func canDisconnectTelemetry() gridmesh.Telemetry {
	t := islandTelemetry()
	t.Loads.CanDisconnect = true
	return t
}

// islandPlan is samplePlan(homes) made in island mode: every setpoint
// carries a PV limit and shed flags (Setpoint keys 20-22).
func islandPlan(homes int) gridmesh.Plan {
	p := samplePlan(homes)
	for i := range p.Setpoints {
		p.Setpoints[i].Island = true
		p.Setpoints[i].PVLimitW = gridmesh.MaxHomePowerW
		if i%2 == 1 {
			p.Setpoints[i].PVLimitW = 1500
			p.Setpoints[i].Shed = gridmesh.ShedEV
		}
		if i%3 == 2 { // a home whose critical load the island disconnects
			p.Setpoints[i].Shed = gridmesh.ShedEV | gridmesh.ShedHeatPump | gridmesh.ShedOther | gridmesh.ShedCritical
		}
	}
	return p
}

func TestIslandFieldsRoundTrip(t *testing.T) {
	for _, tm := range []gridmesh.Telemetry{islandTelemetry(), canDisconnectTelemetry()} {
		b, err := EncodeTelemetry(tm)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeTelemetry(b)
		if err != nil || !reflect.DeepEqual(got, tm) {
			t.Fatalf("telemetry %+v, %v; want %+v", got, err, tm)
		}
	}
	p := islandPlan(4)
	b, err := EncodePlan(p)
	if err != nil {
		t.Fatal(err)
	}
	gp, err := DecodePlan(b)
	if err != nil || !reflect.DeepEqual(gp, p) {
		t.Fatalf("plan %+v, %v; want %+v", gp, err, p)
	}
}

// A message without the island keys (as every home sent before them)
// decodes with them zero, and a plan made on the grid encodes exactly as
// before: the keys are omitted when zero.
func TestIslandFieldsOptional(t *testing.T) {
	old := samplePlan(3)
	b, err := EncodePlan(old)
	if err != nil {
		t.Fatal(err)
	}
	p, err := DecodePlan(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Setpoints {
		if s.Island || s.PVLimitW != 0 || s.Shed != 0 {
			t.Fatalf("old setpoint decoded with island fields: %+v", s)
		}
	}
	tb, err := EncodeTelemetry(sampleTelemetry())
	if err != nil {
		t.Fatal(err)
	}
	tm, err := DecodeTelemetry(tb)
	if err != nil || tm.Loads != nil {
		t.Fatalf("old telemetry decoded with loads %+v, %v", tm.Loads, err)
	}
	// Loads as reported before key 9: cannot disconnect; and a home that
	// cannot sends the loads exactly as before.
	lb, err := EncodeTelemetry(islandTelemetry())
	if err != nil {
		t.Fatal(err)
	}
	if tm, err = DecodeTelemetry(lb); err != nil || tm.Loads == nil || tm.Loads.CanDisconnect {
		t.Fatalf("loads without key 9 decoded as %+v, %v; want CanDisconnect false", tm.Loads, err)
	}
	cb, err := EncodeTelemetry(canDisconnectTelemetry())
	if err != nil {
		t.Fatal(err)
	}
	if len(cb) != len(lb)+2 { // key 9 and true: one byte each
		t.Errorf("key 9 added %d bytes, want 2 (and none when false)", len(cb)-len(lb))
	}
}

func TestIslandFieldsValidated(t *testing.T) {
	for name, mutate := range map[string]func(*gridmesh.Telemetry){
		"negative critical": func(t *gridmesh.Telemetry) { t.Loads.CriticalW = -1 },
		"huge ev":           func(t *gridmesh.Telemetry) { t.Loads.EVW = 2 * gridmesh.MaxHomePowerW },
		"unknown shed bit":  func(t *gridmesh.Telemetry) { t.Loads.Shed = 0x10 },
		"high shed bit":     func(t *gridmesh.Telemetry) { t.Loads.Shed = gridmesh.ShedCritical | 0x80 },
	} {
		tm := islandTelemetry()
		mutate(&tm)
		if _, err := EncodeTelemetry(tm); !errors.Is(err, gridmesh.ErrInvalid) {
			t.Errorf("%s: encoded (err %v)", name, err)
		}
	}
	for name, mutate := range map[string]func(*gridmesh.Setpoint){
		"shed outside island":  func(s *gridmesh.Setpoint) { s.Island, s.PVLimitW, s.Shed = false, 0, gridmesh.ShedOther },
		"limit outside island": func(s *gridmesh.Setpoint) { s.Island, s.Shed = false, 0 },
		"critical disconnect outside island": func(s *gridmesh.Setpoint) {
			s.Island, s.PVLimitW, s.Shed = false, 0, gridmesh.ShedCritical
		},
		"negative limit":   func(s *gridmesh.Setpoint) { s.PVLimitW = -5 },
		"unknown shed bit": func(s *gridmesh.Setpoint) { s.Shed = 0x80 },
	} {
		p := islandPlan(2)
		mutate(&p.Setpoints[1])
		if _, err := EncodePlan(p); !errors.Is(err, gridmesh.ErrInvalid) {
			t.Errorf("%s: encoded (err %v)", name, err)
		}
	}
}
