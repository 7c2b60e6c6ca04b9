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
	// CertificateFile is the home's membership certificate ("" for an
	// open home): the caller watches it (node.Node.WatchCertificate) so
	// that a renewed one is taken without a restart.
	CertificateFile string
	// closers release what Build opened (Modbus connections).
	closers []func() error
	// missing are the kinds listed that no device offers.
	missing missingKinds
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
// the Raft member this home is. A SunSpec device is discovered now, or,
// if it does not answer, by a runner that keeps looking (its kinds wait
// meanwhile); MQTT devices connect when their runners run.
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
		adm, err := node.LoadRotatedAdmission(a.NeighborhoodKey, a.Certificate,
			node.KeyRotation{PreviousPubPath: a.PreviousNeighborhoodKey, Until: a.PreviousKeyUntil}, time.Now())
		if err != nil {
			return nil, fmt.Errorf("admission: %w", err)
		}
		c.Mesh.Admission = adm
		h.CertificateFile = a.Certificate
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
	if f.MQTTPublish != nil {
		ha, err := f.MQTTPublish.config()
		if err != nil {
			return nil, err
		}
		c.HomeAssistant = ha
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
		case "ocpp":
			err = h.addOCPP(d, log)
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
// random from the seed (sim.RandomFullHome), with the battery (and its
// hardware's manners), PV and load the file sets, and only the devices
// whose kinds the file lists.
func (h *Home) addSim(d *Device) error {
	p := sim.RandomFullHome(rand.New(rand.NewPCG(d.Sim.Seed, 0)))
	d.Sim.apply(p.Battery, &p.InitialSoC, p.PV, p.Load)
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
	cfg, err := mqttConfig(string(d.Name), kind, d.MQTT)
	if err != nil {
		return err
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

// addSunSpec configures a SunSpec device and connects it
// (connectSunSpec): a kind it lacks, or a device that does not answer
// yet, does not stop the home.
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
	return h.connectSunSpec(ctx, d, cfg, log)
}
