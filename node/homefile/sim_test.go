package homefile_test

import (
	"strings"
	"testing"

	"github.com/gridmesh/gridmesh/devices/sunspec/sunspecserver"
	"github.com/gridmesh/gridmesh/node/homefile"
)

// withHardware is the good file with its battery given hw's manners.
func withHardware(hw string) string {
	return strings.Replace(good, "reserve: 20%}", "reserve: 20%, hardware: "+hw+"}", 1)
}

// A sim battery's hardware block gives it a real one's manners: one that
// hides its power reads 0 W while it delivers what it was asked.
func TestSimHardwareFromTheFile(t *testing.T) {
	h := build(t, withHardware("{ramp_per_s: 2 kW, reaction_delay: 300ms, noise: 50 W, hides_power: true}"))
	if err := h.Battery.SetBatteryPower(-2000); err != nil {
		t.Fatal(err)
	}
	f, err := h.Battery.Battery()
	if err != nil {
		t.Fatal(err)
	}
	if f.PowerW != 0 {
		t.Errorf("a battery that hides its power reads %v", f.PowerW)
	}
}

// The same block is what `gridmesh devices` serves.
func TestSimHomeCarriesTheHardware(t *testing.T) {
	f, err := homefile.Parse([]byte(withHardware("{ramp_per_s: 2 kW, reaction_delay: 300ms}")))
	if err != nil {
		t.Fatal(err)
	}
	p := f.Devices[0].Sim.SimHome(sunspecserver.DefaultSimHome())
	if hw := p.Battery.Hardware; hw.RampWPerS != 2000 || hw.ReactionDelay.Milliseconds() != 300 || hw.HidesPower {
		t.Errorf("hardware %+v, want a 2 kW/s ramp after 300 ms", hw)
	}
	if p.Battery.CapacityWh != 13_500 || p.PV.PeakW != 4000 || p.Load.BaseW != 400 {
		t.Errorf("home %+v, want the file's battery, PV and load", p)
	}
}

func TestSimHardwareOutOfRangeNamesTheLine(t *testing.T) {
	_, err := homefile.Parse([]byte(withHardware("{reaction_delay: 2h}")))
	if err == nil || !strings.Contains(err.Error(), "hardware") || !strings.Contains(err.Error(), "line ") {
		t.Errorf("err = %v, want the hardware's line", err)
	}
}
