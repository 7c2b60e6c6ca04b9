package homefile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/consensus"
	"github.com/gridmesh/gridmesh/control"
	"github.com/gridmesh/gridmesh/devices/mqtt"
	"github.com/gridmesh/gridmesh/devices/sim"
	"github.com/gridmesh/gridmesh/devices/sunspec"
	"github.com/gridmesh/gridmesh/mesh"
	"github.com/gridmesh/gridmesh/node"
)

// Home is a home file made real: the node's configuration, its devices by
// capability, and the drivers' own goroutines, which the caller runs
// beside the node (each returns when its context ends).
type Home struct {
	Config   node.Config
	Battery  control.Battery
	Meter    control.Meter
	PV       control.PV
	Charger  control.Charger
	HeatPump control.HeatPump
	Loads    control.Loads
	// Runners are the drivers' Run methods.
	Runners []func(context.Context) error
	// closers release what Build opened (Modbus connections).
	closers []func() error
}

// Close releases the drivers' connections. Call it after the runners have
// returned.
func (h *Home) Close() error {
	var errs []error
	for _, c := range h.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// Build turns a home file into a Home: it fills the node configuration and
// connects the drivers. self is the home's peer ID (from its identity key),
// the Raft member this home is. A SunSpec device must answer its discovery
// now; MQTT devices connect when their runners run.
func Build(ctx context.Context, f *File, self string, log *slog.Logger) (*Home, error) {
	h := &Home{Config: node.DefaultConfig()}
	c := &h.Config
	c.Home, c.Neighborhood = gridmesh.HomeID(f.Home), gridmesh.NeighborhoodID(f.Neighborhood)
	if f.Network != "" {
		c.Mesh.Network = string(f.Network)
	}
	c.Mesh.NAT = f.NAT.config()
	if len(f.Listen) > 0 {
		c.Mesh.ListenAddrs = f.Listen
	} else {
		c.Mesh.ListenAddrs = []string{"/ip4/0.0.0.0/tcp/4001"} // and UDP 4001 with QUIC: mesh adds it
	}
	c.Mesh.Bootstrap = f.Bootstrap
	c.HTTPAddr = f.HTTP
	if f.TargetW != nil {
		c.InitialAimW = gridmesh.W(*f.TargetW) // the home aims there until its first plan
	}
	c.Raft.DataDir = filepath.Join(f.DataDir, "raft")
	c.DataDir = f.DataDir
	switch a := f.Admission; {
	case a == nil:
		return nil, ErrNoAdmission
	case a.Open:
		if log != nil {
			log.Warn("admission is open: anyone who can reach this home reads its neighborhood's telemetry and plans; " +
				"admit homes with gridmesh neighborhood init and invite instead")
		}
	default:
		adm, err := node.LoadAdmission(a.NeighborhoodKey, a.Certificate, time.Now())
		if err != nil {
			return nil, fmt.Errorf("admission: %w", err)
		}
		c.Mesh.Admission = adm
	}
	for _, k := range f.OperatorKeys {
		pub, err := node.ParseOperatorKey(k) // validated when parsed
		if err != nil {
			return nil, err
		}
		c.Mesh.Region.OperatorKeys = append(c.Mesh.Region.OperatorKeys, pub)
	}
	if err := c.Mesh.Validate(); err != nil {
		return nil, err
	}
	for _, s := range f.Raft.Servers {
		c.Raft.Servers = append(c.Raft.Servers, consensus.Server{ID: s.ID, Voter: s.Voter})
	}
	if len(c.Raft.Servers) > 0 && !slices.ContainsFunc(c.Raft.Servers, func(s consensus.Server) bool { return s.ID == self }) {
		return nil, fmt.Errorf("raft: servers do not list this home (%s)", self)
	}
	if r := f.Reserve; r != nil {
		c.Reserve = node.DefaultReserveConfig(control.PVModel{LatitudeDeg: r.LatitudeDeg, LongitudeDeg: r.LongitudeDeg, PeakW: gridmesh.W(r.PVPeak)})
		if err := c.Reserve.Validate(); err != nil {
			return nil, fmt.Errorf("reserve: %w", err)
		}
	}
	if err := raftOf(f, c); err != nil {
		return nil, err
	}
	if err := h.addDevices(ctx, f, log); err != nil {
		return nil, err
	}
	return h, nil
}

// raftOf applies the file's raft block beyond its servers: the timing
// profile and how many homes found the cluster.
func raftOf(f *File, c *node.Config) error {
	switch f.Raft.Timing {
	case "", "lan": // node.DefaultConfig's
	case "wan":
		c.UseWANTiming()
	default:
		return fmt.Errorf("raft: timing %q: want lan or wan", f.Raft.Timing)
	}
	if e := f.Raft.BootstrapExpect; e != nil {
		if len(c.Raft.Servers) > 0 {
			return errors.New("raft: bootstrap_expect and servers exclude each other")
		}
		if *e < 1 || *e > 9 {
			return fmt.Errorf("raft: bootstrap_expect %d outside [1, 9]", *e)
		}
		c.Formation.Expect = *e
	}
	return nil
}

// addDevices connects every device the file lists; on a failure it closes
// those already connected.
func (h *Home) addDevices(ctx context.Context, f *File, log *slog.Logger) error {
	for i := range f.Devices {
		d := &f.Devices[i]
		var err error
		switch d.Driver {
		case "sim":
			err = h.addSim(d)
		case "mqtt":
			err = h.addMQTT(d, log)
		case "sunspec":
			err = h.addSunSpec(ctx, d, log)
		}
		if err != nil {
			return errors.Join(fmt.Errorf("line %d: device %s: %w", d.line, d.Name, err), h.Close())
		}
	}
	return nil
}

// config is mesh.DefaultHomeNAT with the file's switches applied.
func (n NAT) config() mesh.NATConfig {
	c := mesh.DefaultHomeNAT()
	for _, s := range []struct {
		set *bool
		to  *bool
	}{{n.QUIC, &c.QUIC}, {n.AutoNAT, &c.AutoNAT}, {n.RelayService, &c.RelayService}, {n.AutoRelay, &c.AutoRelay}, {n.HolePunching, &c.HolePunching}} {
		if s.set != nil {
			*s.to = *s.set
		}
	}
	return c
}

// addSim builds a simulated home on the wall clock: a home drawn at
// random from the seed (sim.RandomFullHome), with the battery, PV and load
// the file sets, and only the devices whose kinds the file lists.
func (h *Home) addSim(d *Device) error {
	p := sim.RandomFullHome(rand.New(rand.NewPCG(d.Sim.Seed, 0)))
	if b := d.Sim.Battery; b != nil {
		p.Battery.CapacityWh, p.Battery.MaxChargeW, p.Battery.MaxDischargeW = gridmesh.Wh(b.Capacity), gridmesh.W(b.MaxCharge), gridmesh.W(b.MaxDischg)
		if b.Efficiency > 0 {
			p.Battery.RoundTripEfficiency = float64(b.Efficiency)
		}
		if b.InitialSoC > 0 {
			p.InitialSoC = float64(b.InitialSoC)
		}
		p.Battery.ReserveSoC = float64(b.Reserve)
	}
	if pv := d.Sim.PV; pv != nil {
		p.PV.PeakW = gridmesh.W(pv.Peak)
	}
	if l := d.Sim.Load; l != nil {
		p.Load.BaseW, p.Load.EveningPeakW = gridmesh.W(l.Base), gridmesh.W(l.EveningPeak)
		if l.Critical > 0 {
			p.Load.SheddableShare = 1 - float64(l.Critical)
		}
	}
	has := func(k string) bool { return slices.Contains(d.Kinds, k) }
	if !has("battery") {
		p.Battery = nil
	}
	if !has("pv") {
		p.PV = nil
	}
	if !has("charger") {
		p.Charger = nil
	}
	if !has("heatpump") {
		p.HeatPump = nil
	}
	home, err := sim.NewFullHome(p, time.Now)
	if err != nil {
		return err
	}
	ds := home.Devices()
	for _, k := range d.Kinds {
		switch k {
		case "battery":
			h.Battery = ds.Battery
		case "meter":
			h.Meter = ds.Meter
		case "pv":
			h.PV = ds.PV
		case "charger":
			h.Charger = ds.Charger
		case "heatpump":
			h.HeatPump = ds.HeatPump
		case "loads":
			h.Loads = ds.Loads
		}
	}
	return nil
}

// addMQTT builds an MQTT driver for the device's one kind.
func (h *Home) addMQTT(d *Device, log *slog.Logger) error {
	kind := mqtt.Kind(d.Kinds[0])
	cfg := mqtt.DefaultConfig(kind)
	m := d.MQTT
	cfg.Broker, cfg.ClientID, cfg.Username, cfg.Password = m.Broker, m.ClientID, m.Username, m.Password
	cfg.Device, cfg.StateTopic, cfg.SetTopic = string(d.Name), m.StateTopic, m.SetTopic
	cfg.SoCPercent = m.SoCPercent
	cfg.ReleasePayload, cfg.WillPayload = m.ReleasePayload, m.WillPayload
	if r := m.Resolution; r != nil {
		cfg.ResolutionW = float64(*r)
	}
	for k, v := range m.Fields {
		cfg.Fields[k] = v
	}
	if m.SetPayload != "" {
		cfg.SetTemplate = m.SetPayload
	}
	if m.StaleAfter != nil {
		cfg.StaleAfter = time.Duration(*m.StaleAfter)
	}
	dev, err := mqtt.New(cfg, log)
	if err != nil {
		return err
	}
	h.Runners = append(h.Runners, dev.Run)
	switch kind {
	case mqtt.KindBattery:
		h.Battery, _ = dev.AsBattery()
	case mqtt.KindMeter:
		h.Meter, _ = dev.AsMeter()
	case mqtt.KindPV:
		h.PV, _ = dev.AsPV()
	case mqtt.KindCharger:
		h.Charger, _ = dev.AsCharger()
	case mqtt.KindHeatPump:
		h.HeatPump, _ = dev.AsHeatPump()
	case mqtt.KindLoads:
		h.Loads, _ = dev.AsLoads()
	}
	return nil
}

// addSunSpec dials a SunSpec device and takes the capabilities the file
// asks of it; one it lacks is an error naming the models it would need.
func (h *Home) addSunSpec(ctx context.Context, d *Device, log *slog.Logger) error {
	cfg := sunspec.DefaultConfig()
	cfg.Addr, cfg.Device = d.SunSpec.Addr, string(d.Name)
	if d.SunSpec.UnitID != 0 {
		cfg.UnitID = d.SunSpec.UnitID
	}
	if t := d.SunSpec.Timeout; t != nil {
		cfg.Timeout = time.Duration(*t)
	}
	if t := d.SunSpec.ReversionTimeout; t != nil {
		cfg.ReversionTimeout = time.Duration(*t)
	}
	if e := d.SunSpec.RoundTripEfficiency; e != nil {
		cfg.RoundTripEfficiency = float64(*e)
	}
	if i := d.SunSpec.MinWriteInterval; i != nil {
		cfg.MinWriteInterval = time.Duration(*i)
	}
	if b := d.SunSpec.Deadband; b != nil {
		cfg.DeadbandW = gridmesh.W(*b)
	}
	if r := d.SunSpec.StorageRates; r != "" {
		cfg.StorageRates = sunspec.StorageRates(r)
	}
	dev, err := sunspec.Dial(ctx, cfg, log)
	if err != nil {
		return err
	}
	h.closers = append(h.closers, dev.Close)
	for _, k := range d.Kinds {
		ok := false
		switch k {
		case "battery":
			if b, has := dev.BatteryView(); has {
				h.Battery, ok = b, true
			}
		case "meter":
			if m, has := dev.MeterView(); has {
				h.Meter, ok = m, true
			}
		case "pv":
			if p, has := dev.PVView(); has {
				h.PV, ok = p, true
			}
		}
		if !ok {
			return fmt.Errorf("sunspec: %s at %s offers no %s (models %v)", d.Name, cfg.Addr, k, dev.Models())
		}
	}
	return nil
}
