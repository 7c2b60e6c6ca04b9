package devicetest

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices"
	"github.com/gridmesh/gridmesh/devices/sim"
)

// The driver capabilities the suites test (package devices states them
// once for the layer).
type (
	BatteryDriver  = devices.Battery
	MeterDriver    = devices.Meter
	PVDriver       = devices.PV
	ChargerDriver  = devices.Charger
	HeatPumpDriver = devices.HeatPump
	LoadsDriver    = devices.Loads
)

// Harness is one driver under test and the simulated home behind it.
type Harness[D any] struct {
	// Driver is the driver under test.
	Driver D
	// Home is the simulated home whose device the driver reaches (through
	// the author's simulator). The suite reads it as the truth and
	// changes it to see the driver follow.
	Home *sim.Home
	// Deadline is how long a change may take to show through the driver;
	// 0 means DefaultDeadline.
	Deadline time.Duration
	// Tolerance is how far the driver's figures may be from the
	// simulated ones; a zero field means DefaultTolerance's.
	Tolerance Tolerance
	// PVAvailableUnknown says the driver's protocol cannot tell what a
	// curtailed array could produce (SunSpec has no point for it), so the
	// driver reports PVState.AvailableW equal to PowerW, as PVState
	// allows. The PV suite then checks exactly that, under curtailment
	// and without, in place of the array's potential; every other check
	// stays as strict. False, the default, holds the driver to the
	// potential. Set it only for a protocol that cannot carry it.
	PVAvailableUnknown bool
	// BatteryPowerHidden says the driver cannot read the battery's power
	// (the device does not report it, and the protocol gives no other
	// way): the driver reports PowerW 0. The battery suite then checks
	// exactly that, and that setpoints reach the device (by what it
	// delivers); every other check stays as strict.
	BatteryPowerHidden bool
}

// DefaultDeadline is 5 s: a driver polling every second, a broker or
// gateway in between and a guard in front, with room under -race.
const DefaultDeadline = 5 * time.Second

// Tolerance bounds how far a driver's figure may be from the simulated
// one: protocols carry scaled integers, not floats.
type Tolerance struct {
	// PowerW bounds every power.
	PowerW gridmesh.W
	// EnergyWh bounds every energy (capacity, energy to full or empty,
	// energy a car still wants).
	EnergyWh gridmesh.Wh
	// SoC bounds the state of charge, 0..1.
	SoC float64
	// TempC bounds temperatures.
	TempC float64
	// VoltageV and FrequencyHz bound the grid's figures.
	VoltageV    float64
	FrequencyHz float64
	// TimeMs bounds instants (a car's departure).
	TimeMs int64
}

// DefaultTolerance is what common register encodings resolve.
func DefaultTolerance() Tolerance {
	return Tolerance{
		PowerW:      10,   // power registers resolve 1-10 W
		EnergyWh:    100,  // 1 % of a 10 kWh battery: a state of charge in whole percent
		SoC:         0.01, // a state of charge in whole percent
		TempC:       0.1,  // temperatures in tenths of a degree
		VoltageV:    0.5,  // voltages in tenths, rounded twice
		FrequencyHz: 0.01, // frequencies in hundredths
		TimeMs:      1000, // times in whole seconds
	}
}

// check is one harness with its defaults filled in.
type check[D any] struct {
	t   *testing.T
	h   Harness[D]
	tol Tolerance
	dl  time.Duration
}

func setup[D any](t *testing.T, newHarness func(t *testing.T) Harness[D]) check[D] {
	t.Helper()
	h := newHarness(t)
	if h.Home == nil {
		t.Fatal("devicetest: the harness has no Home")
	}
	tol, def := h.Tolerance, DefaultTolerance()
	c := check[D]{t: t, h: h, dl: h.Deadline}
	if c.dl <= 0 {
		c.dl = DefaultDeadline
	}
	c.tol = Tolerance{
		PowerW:      or(tol.PowerW, def.PowerW),
		EnergyWh:    or(tol.EnergyWh, def.EnergyWh),
		SoC:         or(tol.SoC, def.SoC),
		TempC:       or(tol.TempC, def.TempC),
		VoltageV:    or(tol.VoltageV, def.VoltageV),
		FrequencyHz: or(tol.FrequencyHz, def.FrequencyHz),
		TimeMs:      or(tol.TimeMs, def.TimeMs),
	}
	return c
}

func or[T gridmesh.W | gridmesh.Wh | float64 | int64](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// eventually polls cond until it returns nil or the deadline passes.
func (c check[D]) eventually(what string, cond func() error) {
	c.t.Helper()
	deadline := time.Now().Add(c.dl)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: not within %v: %v", what, c.dl, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// differ collects the figures that are out of tolerance.
type differ struct{ out []string }

func (d *differ) near(name string, got, want, tol float64) {
	if math.IsNaN(got) || math.Abs(got-want) > tol {
		d.out = append(d.out, fmt.Sprintf("%s = %v, want %v (±%v)", name, got, want, tol))
	}
}

func (d *differ) equal(name string, got, want any) {
	if got != want {
		d.out = append(d.out, fmt.Sprintf("%s = %v, want %v", name, got, want))
	}
}

func (d *differ) err() error {
	if len(d.out) == 0 {
		return nil
	}
	return fmt.Errorf("%v", d.out)
}

// nonFinite are the powers every driver must refuse.
var nonFinite = []gridmesh.W{gridmesh.W(math.NaN()), gridmesh.W(math.Inf(1)), gridmesh.W(math.Inf(-1))}

// Instant is when NewHome's clock is frozen: a January noon.
func Instant() time.Time { return time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC) }

// NewHome returns a home with every device, its clock frozen at Instant, where
// every device has something to show: the battery is half full above a
// 10 % reserve; the sun is at its peak (4 kW, no clouds); a car arrived
// in the morning and wants 20-30 kWh; the house is at 21 °C in a 20-22 °C
// band on a 0-4 °C day; 40 % of the load is sheddable.
func NewHome(t testing.TB) *sim.Home {
	t.Helper()
	at := Instant()
	h, err := sim.NewFullHome(HomeParams(), func() time.Time { return at })
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// HomeParams are NewHome's devices, to change before sim.NewFullHome.
func HomeParams() sim.FullHomeParams {
	return sim.FullHomeParams{
		Battery:    &sim.BatteryParams{CapacityWh: 10_000, MaxChargeW: 5_000, MaxDischargeW: 4_000, RoundTripEfficiency: 0.9, ReserveSoC: 0.1},
		InitialSoC: 0.5,
		PV:         &sim.PVParams{PeakW: 4_000, SunriseHour: 8, SunsetHour: 16},
		Charger: &sim.ChargerParams{
			MinW: 1_400, MaxW: 11_000, SessionChance: 1,
			ArriveHour: 9, ArriveSpanHours: 1, StayHours: 8, StaySpanHours: 1,
			WantMinWh: 20_000, WantSpanWh: 10_000, Seed: 1,
		},
		HeatPump: &sim.HeatPumpParams{
			MaxW: 3_000, COP: 3, LossWPerK: 150, CapacityWhPerK: 5_000,
			BandLowC: 20, BandHighC: 22, HysteresisC: 0.5, OutdoorMeanC: 2, OutdoorSwingC: 2,
		},
		InitialIndoorC: 21,
		Load:           &sim.LoadParams{BaseW: 400, MorningPeakW: 300, EveningPeakW: 1_200, Seed: 1, SheddableShare: 0.4},
	}
}
