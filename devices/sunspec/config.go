package sunspec

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/gridmesh/gridmesh"
)

// Config is one SunSpec device reached over Modbus TCP.
type Config struct {
	// Addr is the device's host:port (Modbus TCP is usually port 502).
	Addr string
	// UnitID is the Modbus unit (slave) ID the device answers to.
	UnitID uint8
	// Timeout bounds every call: connecting, discovery after a reconnect
	// and the reads and writes of one method together. It is also the
	// Modbus request timeout.
	Timeout time.Duration
	// Device names the device in errors and logs.
	Device string
	// ReversionTimeout is written with every setpoint where the device
	// offers a reversion time (124's InOutWRte_RvrtTms, 123's
	// WMaxLimPct_RvrtTms, 704's WMaxLimPctRvrtTms): if gridmesh writes no
	// new setpoint for this long, the device returns to its own control.
	// SunSpec counts it in whole seconds; it is rounded up.
	ReversionTimeout time.Duration
	// Bases are the addresses probed for the "SunS" marker, in order
	// (0-based register addresses: 40000 is "40001" in 1-based manuals).
	Bases []uint16
	// MaxModels bounds the model chain; a longer chain is malformed.
	MaxModels int
	// RoundTripEfficiency is the battery's round-trip efficiency, in
	// [0.5, 1]: the share of the energy charged that comes back out, as
	// its datasheet states it. SunSpec has no point for it. The loss is
	// taken as split evenly between charging and discharging, so the
	// energy to full (ChargeWh) is the room left divided by its square
	// root and the energy to empty (DischargeWh) the energy above the
	// reserve multiplied by it: both at the home's bus, as
	// gridmesh.Flexibility means them. 1 reports the stored energy as is.
	RoundTripEfficiency float64
	// MinWriteInterval is the least time between two setpoint writes to
	// the device (the battery's rates and the PV limit share it): a
	// setpoint that changes faster is written at this pace, its newest
	// value each time. Vendors ask for few writes (some keep control
	// registers in flash); the reversion time is refreshed at half its
	// period whatever this is.
	MinWriteInterval time.Duration
	// DeadbandW: a setpoint within this of the one last written is not
	// written again (until the reversion refresh), nor is one whose
	// registers would not change.
	DeadbandW gridmesh.W
	// StorageRates is how the device reads 124's rates: RatesWindow (the
	// default) or RatesNet. See the package doc.
	StorageRates StorageRates
}

// StorageRates names a reading of model 124's InWRte and OutWRte.
type StorageRates string

// The readings of 124's rates a device may have.
const (
	// RatesWindow: the rates bound a window, charge up to InWRte and
	// discharge up to OutWRte, a negative rate forcing the other
	// direction; the driver holds p by InWRte = p, OutWRte = -p.
	RatesWindow StorageRates = "window"
	// RatesNet: the rates are setpoints, the battery charging at InWRte
	// less OutWRte; the driver holds p by InWRte = p, OutWRte = 0 (or
	// OutWRte = -p, InWRte = 0 to discharge).
	RatesNet StorageRates = "net"
)

// Bounds on the configuration.
const (
	// maxTimeout: a Modbus device that needs more than 30 s to answer is
	// not one a 100 ms control loop can steer, even off the loop.
	maxTimeout = 30 * time.Second
	// maxReversionTimeout is the largest uint16 count of seconds that is
	// not the not-implemented value 0xFFFF (123 and 124 hold it in 16 bits).
	maxReversionTimeout = 0xFFFE * time.Second
	// minRoundTripEfficiency: no storage sold for homes loses half of
	// what it takes in; a lower figure is a typo (a percentage, a one-way
	// figure squared twice), and one near 0 would inflate ChargeWh past
	// what a home's messages carry.
	minRoundTripEfficiency = 0.5
	// defaultRoundTripEfficiency: 90 %, the AC round trip of common
	// lithium home batteries (LFP hybrids state 88-95 %); erring low
	// understates the energy the battery can deliver, the safer mistake.
	defaultRoundTripEfficiency = 0.9
	// defaultMinWriteInterval: one setpoint write a second per device, the
	// pace inverter vendors ask of remote control (some store control
	// registers in flash, which wears); a battery's own ramp takes about
	// as long to follow a step.
	defaultMinWriteInterval = time.Second
	// maxMinWriteInterval: a setpoint must be written (refreshed) well
	// within the shortest reversion time, 1 s; past 10 s the loop would
	// steer a battery that answers a step after ten loop periods and more.
	maxMinWriteInterval = 10 * time.Second
	// defaultDeadbandW: 20 W, less than a home meter moves from one
	// second to the next (fridges and pumps cycle tens of watts), so
	// holding the meter loses nothing a meter can show, while a loop that
	// trims its command by a few watts each tick writes nothing.
	defaultDeadbandW gridmesh.W = 20
	// maxDeadbandW: a deadband wider than a kettle is a setting in
	// kilowatts by mistake.
	maxDeadbandW gridmesh.W = 2_000
)

// DefaultConfig returns a configuration with no address (set Addr), unit
// ID 1, a 2 s timeout (a LAN device answers in tens of ms; some inverters
// take a few hundred) and a 60 s reversion time (long enough to ride out
// a restart of the node, short enough that a dead node does not hold the
// battery for long) and a 90 % round-trip efficiency (set the battery's
// own from its datasheet), a setpoint written at most once a second and
// only when it moves by 20 W or more.
func DefaultConfig() Config {
	return Config{
		UnitID:           1,
		Timeout:          2 * time.Second,
		Device:           "sunspec",
		ReversionTimeout: 60 * time.Second,
		// 40000 is where nearly all devices put the marker; 0 and 50000
		// are the alternatives the specification allows.
		Bases: []uint16{40000, 0, 50000},
		// Real devices carry up to about 20 models.
		MaxModels:           64,
		RoundTripEfficiency: defaultRoundTripEfficiency,
		MinWriteInterval:    defaultMinWriteInterval,
		DeadbandW:           defaultDeadbandW,
		StorageRates:        RatesWindow,
	}
}

// Validate checks every field.
func (c Config) Validate() error {
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("sunspec: address %q: %w", c.Addr, err)
	}
	if p, err := strconv.Atoi(port); host == "" || err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("sunspec: address %q needs a host and a port in 1..65535", c.Addr)
	}
	if c.Timeout <= 0 || c.Timeout > maxTimeout {
		return fmt.Errorf("sunspec: timeout %v outside (0, %v]", c.Timeout, maxTimeout)
	}
	if c.Device == "" {
		return errors.New("sunspec: empty device name")
	}
	if c.ReversionTimeout < time.Second || c.ReversionTimeout > maxReversionTimeout {
		return fmt.Errorf("sunspec: reversion timeout %v outside [1s, %v]", c.ReversionTimeout, maxReversionTimeout)
	}
	if len(c.Bases) == 0 {
		return errors.New("sunspec: no base address to probe")
	}
	if c.MaxModels < 1 || c.MaxModels > 1000 {
		return fmt.Errorf("sunspec: max models %d outside [1, 1000]", c.MaxModels)
	}
	if e := c.RoundTripEfficiency; !(e >= minRoundTripEfficiency && e <= 1) { // NaN fails too
		return fmt.Errorf("sunspec: round-trip efficiency %v outside [%v, 1]", e, minRoundTripEfficiency)
	}
	if c.MinWriteInterval < 0 || c.MinWriteInterval > maxMinWriteInterval {
		return fmt.Errorf("sunspec: minimum write interval %v outside [0, %v]", c.MinWriteInterval, maxMinWriteInterval)
	}
	if c.MinWriteInterval > c.ReversionTimeout/2 {
		return fmt.Errorf("sunspec: minimum write interval %v leaves no time to refresh the setpoint within half its reversion time %v", c.MinWriteInterval, c.ReversionTimeout)
	}
	if c.StorageRates != RatesWindow && c.StorageRates != RatesNet {
		return fmt.Errorf("sunspec: storage rates %q: want %q or %q", c.StorageRates, RatesWindow, RatesNet)
	}
	if d := c.DeadbandW; !(d >= 0 && d <= maxDeadbandW) { // NaN fails too
		return fmt.Errorf("sunspec: deadband %v outside [0, %v]", d, maxDeadbandW)
	}
	return nil
}

// reversionSecs is ReversionTimeout in whole seconds, rounded up.
func (c Config) reversionSecs() uint16 {
	return uint16((c.ReversionTimeout + time.Second - 1) / time.Second)
}
