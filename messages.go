package gridmesh

import (
	"errors"
	"fmt"
	"math"
)

// WireVersion is the version every wire message carries. A receiver
// refuses any other version rather than guessing at its meaning.
const WireVersion = 1

// Bounds that make a message out of range however it was encoded. They are
// generous for a home (a 1 MW home or 10,000 homes in a neighborhood is
// not a home or a neighborhood) and tight enough that a lying peer cannot
// push a dispatcher into float overflow or unbounded allocation.
const (
	// MaxHomePowerW bounds any per-home power figure.
	MaxHomePowerW W = 1_000_000
	// MaxHomeEnergyWh bounds any per-home energy figure.
	MaxHomeEnergyWh Wh = 10_000_000
	// MaxSetpoints bounds the homes one plan may address.
	MaxSetpoints = 10_000
	// MaxAddrs bounds the listen addresses a home may announce.
	MaxAddrs = 8
	// MaxAddrLen bounds one announced address.
	MaxAddrLen = 256
	// MaxClusterLen bounds a Raft cluster's name in telemetry.
	MaxClusterLen = 128
	// MaxLeaseMs bounds a plan's lease, in milliseconds (10 minutes): past
	// that a lost leader would keep steering homes far too long.
	MaxLeaseMs = 600_000
)

// ErrInvalid is wrapped by every message validation error.
var ErrInvalid = errors.New("invalid message")

// Flexibility is what a home's battery can do now: its power range given
// its limits and state of charge, and the energy behind that range.
type Flexibility struct {
	// PowerW is the battery's power now (positive: charging).
	PowerW W `cbor:"1,keyasint"`
	// MinW is the most it can discharge now, as a negative power (or 0).
	MinW W `cbor:"2,keyasint"`
	// MaxW is the most it can charge now, as a positive power (or 0).
	MaxW W `cbor:"3,keyasint"`
	// SoC is the state of charge, 0..1.
	SoC float64 `cbor:"4,keyasint"`
	// CapacityWh is the usable capacity.
	CapacityWh Wh `cbor:"5,keyasint"`
	// ChargeWh is the energy it can still absorb before it is full.
	ChargeWh Wh `cbor:"6,keyasint"`
	// DischargeWh is the energy it can still deliver before it is empty.
	DischargeWh Wh `cbor:"7,keyasint"`
}

// Validate checks that every figure is finite and in range.
func (f Flexibility) Validate() error {
	for _, p := range []W{f.PowerW, f.MinW, f.MaxW} {
		if !p.Finite() || math.Abs(float64(p)) > float64(MaxHomePowerW) {
			return fmt.Errorf("%w: battery power %v out of range", ErrInvalid, p)
		}
	}
	for _, e := range []Wh{f.CapacityWh, f.ChargeWh, f.DischargeWh} {
		if !e.Finite() || e < 0 || e > MaxHomeEnergyWh {
			return fmt.Errorf("%w: battery energy %v Wh out of range", ErrInvalid, float64(e))
		}
	}
	if f.MinW > 0 || f.MaxW < 0 {
		return fmt.Errorf("%w: battery range [%v, %v] must contain 0", ErrInvalid, f.MinW, f.MaxW)
	}
	if math.IsNaN(f.SoC) || f.SoC < 0 || f.SoC > 1 {
		return fmt.Errorf("%w: state of charge %v outside [0, 1]", ErrInvalid, f.SoC)
	}
	return nil
}

// Telemetry is what a home reports to its neighborhood every period.
type Telemetry struct {
	Version      uint16         `cbor:"1,keyasint"`
	Home         HomeID         `cbor:"2,keyasint"`
	Neighborhood NeighborhoodID `cbor:"3,keyasint"`
	// Seq increases with every report of one home run.
	Seq uint64 `cbor:"4,keyasint"`
	// AtMs is when the readings were taken, in Unix milliseconds.
	AtMs int64 `cbor:"5,keyasint"`
	// NetW is the measured net import at the home's grid meter.
	NetW W `cbor:"6,keyasint"`
	// BaseW is the net import the home would have with its battery idle:
	// load minus PV.
	BaseW W `cbor:"7,keyasint"`
	// Battery is the home's battery flexibility.
	Battery Flexibility `cbor:"8,keyasint"`
	// Addrs are the home's listen multiaddrs, so the neighborhood's
	// leader can reach it (gossip is how homes find each other).
	Addrs []string `cbor:"9,keyasint"`
	// Cluster names the Raft cluster of the neighborhood the home belongs
	// to, "" while it belongs to none or has not yet learned the name.
	// Homes that found, join and merge clusters read it.
	Cluster string `cbor:"10,keyasint,omitempty"`
	// Joined is whether the home holds Raft state: it was founded with,
	// or added to, a cluster. Only homes that have not may found one.
	Joined bool `cbor:"11,keyasint,omitempty"`
	// Applied is the index of the newest Raft entry the home applied; the
	// leader promotes to voter only homes that have caught up.
	Applied uint64 `cbor:"12,keyasint,omitempty"`
	// Founder is, on a home without Raft state, the peer ID it would
	// have found the neighborhood's cluster: the lowest among the homes
	// without state it hears. A home founds only when every such home
	// it hears names it.
	Founder string `cbor:"13,keyasint,omitempty"`
	// Joining is, on a home without Raft state that hears a cluster in
	// its neighborhood, the cluster it asks to join: the name that sorts
	// first among those the homes with state announce. Only that
	// cluster's leader adds it, and only that cluster's members reach it.
	Joining string `cbor:"14,keyasint,omitempty"`
	// NoReading says the home's meter or battery did not answer this
	// period: the report says the home is alive and what it announces of
	// its cluster, nothing of its power (NetW, BaseW, Battery and Loads
	// are zero). Presence and device health are apart: a home whose
	// inverter stops answering keeps its vote, and is not planned with.
	NoReading bool `cbor:"15,keyasint,omitempty"`
	// Loads is the home's load and PV by class, for island balancing;
	// nil from homes that do not report it (key 20, newer than version
	// 1's first homes, which decode with it nil).
	Loads *HomeLoads `cbor:"20,keyasint,omitempty"`
}

// Validate checks the version, identifiers and ranges.
func (t Telemetry) Validate() error {
	if t.Version != WireVersion {
		return fmt.Errorf("%w: telemetry version %d, want %d", ErrInvalid, t.Version, WireVersion)
	}
	if err := t.Home.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := t.Neighborhood.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	for _, p := range []W{t.NetW, t.BaseW} {
		if !p.Finite() || math.Abs(float64(p)) > float64(MaxHomePowerW) {
			return fmt.Errorf("%w: home power %v out of range", ErrInvalid, p)
		}
	}
	if len(t.Addrs) > MaxAddrs {
		return fmt.Errorf("%w: %d addresses, at most %d", ErrInvalid, len(t.Addrs), MaxAddrs)
	}
	if len(t.Founder) > MaxClusterLen || (t.Founder != "" && t.Joined) {
		return fmt.Errorf("%w: founder of %d bytes (joined %v)", ErrInvalid, len(t.Founder), t.Joined)
	}
	if len(t.Cluster) > MaxClusterLen || (t.Cluster != "" && !t.Joined) {
		return fmt.Errorf("%w: cluster name of %d bytes (joined %v)", ErrInvalid, len(t.Cluster), t.Joined)
	}
	if t.NoReading && (t.NetW != 0 || t.BaseW != 0 || t.Battery != (Flexibility{}) || t.Loads != nil) {
		return fmt.Errorf("%w: a report without a reading carries power figures", ErrInvalid)
	}
	if len(t.Joining) > MaxClusterLen || (t.Joining != "" && (t.Joined || t.Founder != "")) {
		return fmt.Errorf("%w: joining a cluster name of %d bytes (joined %v, founder %q)", ErrInvalid, len(t.Joining), t.Joined, t.Founder)
	}
	for _, a := range t.Addrs {
		if len(a) == 0 || len(a) > MaxAddrLen {
			return fmt.Errorf("%w: address of %d bytes", ErrInvalid, len(a))
		}
	}
	if t.Loads != nil {
		if err := t.Loads.Validate(); err != nil {
			return err
		}
	}
	return t.Battery.Validate()
}

// Target is what a neighborhood is asked to draw from the grid at its
// feeder, in the load convention (negative: export).
type Target struct {
	// Seq identifies the request; a newer request has a larger Seq.
	Seq uint64 `cbor:"1,keyasint" json:"seq"`
	// ImportW is the feeder import to aim for.
	ImportW W `cbor:"2,keyasint" json:"import_w"`
}

// Epoch is a plan's place in its neighborhood's Raft log: the term of the
// leader that committed it and its log index. Epochs order plans.
type Epoch struct {
	Term  uint64 `cbor:"1,keyasint" json:"term"`
	Index uint64 `cbor:"2,keyasint" json:"index"`
}

// After reports whether e is strictly newer than o.
func (e Epoch) After(o Epoch) bool {
	return e.Term > o.Term || e.Term == o.Term && e.Index > o.Index
}

func (e Epoch) String() string { return fmt.Sprintf("%d/%d", e.Term, e.Index) }

// Setpoint is one home's share of a plan: the net import it should hold
// at its grid meter. The home reaches it with its own devices, within
// their limits, on every tick of its loop.
//
// In island mode (the neighborhood has lost the grid) the setpoint also
// steers the home's other devices: its PV limit and which non-critical
// loads to disconnect. Outside island mode those fields are zero and the
// home restores its loads and lifts any PV limit. Keys 20-22 are newer
// than the first version-1 setpoints, which decode with them zero.
type Setpoint struct {
	Home HomeID `cbor:"1,keyasint"`
	NetW W      `cbor:"2,keyasint"`
	// Island is true for a setpoint of an islanded neighborhood.
	Island bool `cbor:"20,keyasint,omitempty"`
	// PVLimitW caps the PV output in island mode (MaxHomePowerW: no cap).
	PVLimitW W `cbor:"21,keyasint,omitempty"`
	// Shed is which non-critical loads to disconnect in island mode.
	Shed ShedFlags `cbor:"22,keyasint,omitempty"`
}

// Plan is a neighborhood leader's decision, committed to Raft and then
// published to every home of the neighborhood.
type Plan struct {
	Version      uint16         `cbor:"1,keyasint"`
	Neighborhood NeighborhoodID `cbor:"2,keyasint"`
	// Epoch is the plan's Raft term and index; zero until committed.
	Epoch Epoch `cbor:"3,keyasint"`
	// IssuedAtMs is when the leader made the plan, in Unix milliseconds.
	IssuedAtMs int64 `cbor:"4,keyasint"`
	// LeaseMs is how long past issue the plan may be followed.
	LeaseMs uint32 `cbor:"5,keyasint"`
	// Target is the request the plan carries out.
	Target Target `cbor:"6,keyasint"`
	// ShortfallW is how far the setpoints fall short of the target
	// (target minus what they reach); 0 when the target is feasible.
	ShortfallW W `cbor:"7,keyasint"`
	// Setpoints are sorted by home, one per home at most.
	Setpoints []Setpoint `cbor:"8,keyasint"`
}

// Validate checks the version, identifiers, ranges and setpoint order.
func (p Plan) Validate() error {
	if p.Version != WireVersion {
		return fmt.Errorf("%w: plan version %d, want %d", ErrInvalid, p.Version, WireVersion)
	}
	if err := p.Neighborhood.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if p.LeaseMs == 0 || p.LeaseMs > MaxLeaseMs {
		return fmt.Errorf("%w: lease %d ms outside (0, %d]", ErrInvalid, p.LeaseMs, MaxLeaseMs)
	}
	if !p.Target.ImportW.Finite() || !p.ShortfallW.Finite() {
		return fmt.Errorf("%w: target or shortfall not finite", ErrInvalid)
	}
	if len(p.Setpoints) > MaxSetpoints {
		return fmt.Errorf("%w: %d setpoints, at most %d", ErrInvalid, len(p.Setpoints), MaxSetpoints)
	}
	for i, s := range p.Setpoints {
		if err := s.Home.Validate(); err != nil {
			return fmt.Errorf("%w: setpoint %d: %w", ErrInvalid, i, err)
		}
		if i > 0 && p.Setpoints[i-1].Home >= s.Home {
			return fmt.Errorf("%w: setpoints not sorted by home at %d", ErrInvalid, i)
		}
		if !s.NetW.Finite() || math.Abs(float64(s.NetW)) > float64(MaxHomePowerW) {
			return fmt.Errorf("%w: setpoint for %s: %v out of range", ErrInvalid, s.Home, s.NetW)
		}
		if err := validateIslandSetpoint(s); err != nil {
			return err
		}
	}
	return nil
}

// SetpointFor returns the home's setpoint, if the plan has one.
func (p Plan) SetpointFor(h HomeID) (Setpoint, bool) {
	lo, hi := 0, len(p.Setpoints)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if p.Setpoints[m].Home < h {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(p.Setpoints) && p.Setpoints[lo].Home == h {
		return p.Setpoints[lo], true
	}
	return Setpoint{}, false
}
