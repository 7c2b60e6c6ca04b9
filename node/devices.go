package node

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices/guard"
)

// devices are the home's devices, each behind a guard, so that the
// device loop never blocks on device I/O: the loop calls only the guards,
// whose methods return the newest reading (or an error wrapping
// gridmesh.ErrUnavailable) at once and record commands for their own
// goroutines to apply. A device not configured is nil. Built once by the
// loop runner before anything runs; read-only after.
type devices struct {
	battery  *guard.Battery
	meter    *guard.Meter
	pv       *guard.PV
	charger  *guard.Charger
	heatPump *guard.HeatPump
	loads    *guard.Loads

	all   []*device          // every configured device, in kind order
	kinds map[string]*device // the same, by kind
}

// device is what the node keeps of one guarded device beyond its guard.
type device struct {
	guard interface {
		Run(ctx context.Context) error
		State() guard.State
	}
	// status fills in the device's newest reading and command.
	status func(*DeviceStatus)
	// loopErrors counts the loop's calls to the device that failed;
	// written by the device loop.
	loopErrors atomic.Uint64
	// writes counts what the driver wrote to the device; nil when the
	// driver does not count. Set by newDevices.
	writes writeCounter
}

// writeCounter is a driver that counts the write requests it sends to
// its device (a Modbus device: sunspec's views), so that the home shows
// how hard it works a device that asks for few writes.
type writeCounter interface{ Writes() uint64 }

// MissingKind is a kind of device the home file lists that its device
// does not offer: the home runs without it.
type MissingKind struct {
	// Device is the device's name in the home file, Kind the kind it
	// lacks ("battery", "meter", "pv", ...), Reason what was found
	// instead (the models it offers).
	Device string `json:"device"`
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

// DeviceStatus is what the home knows of one device.
type DeviceStatus struct {
	guard.State
	// LoopErrors counts the device loop's calls that found the device
	// unavailable (one a tick while it is).
	LoopErrors uint64 `json:"loop_errors"`
	// Writes counts the write requests the driver sent to the device
	// (every kind of one device counts the same requests), for drivers
	// that count them (SunSpec); nil for others.
	Writes *uint64 `json:"writes,omitempty"`
	// The newest reading, whatever its age; only the one for Kind is set.
	Battery  *gridmesh.Flexibility   `json:"battery,omitempty"`
	Meter    *gridmesh.MeterReading  `json:"meter,omitempty"`
	PV       *gridmesh.PVState       `json:"pv,omitempty"`
	Charger  *gridmesh.ChargerState  `json:"charger,omitempty"`
	HeatPump *gridmesh.HeatPumpState `json:"heat_pump,omitempty"`
	Loads    *gridmesh.LoadState     `json:"loads,omitempty"`
	// CommandW is the newest power command given (battery power, PV
	// limit, charging power, heat pump power), applied or not.
	CommandW *gridmesh.W `json:"command_w,omitempty"`
	// ShedCommand is the newest shedding command given to the loads.
	ShedCommand *bool `json:"shed_command,omitempty"`
	// DisconnectCommand is the newest command to disconnect the whole
	// household load (an island plan's gridmesh.ShedCritical).
	DisconnectCommand *bool `json:"disconnect_command,omitempty"`
}

// guardConfig derives the guards' timings from the loop's: two readings a
// tick, so that by the next tick the meter and the battery have both been
// read since the battery took the loop's command (see loopRunner.step);
// the defaults' margins for a loop slower than 100 ms.
func guardConfig(cfg Config) guard.Config {
	g := guard.DefaultConfig()
	g.Period = cfg.LoopPeriod / 2
	g.CallTimeout = max(g.CallTimeout, 10*cfg.LoopPeriod)
	g.StaleAfter = max(g.StaleAfter, 10*cfg.LoopPeriod)
	g.OpenTimeout = max(g.OpenTimeout, cfg.LoopPeriod)
	return g
}

// newDevices wraps every device deps configures in a guard. It starts
// nothing: run does.
func newDevices(deps Deps, cfg guard.Config, log *slog.Logger) (*devices, error) {
	d := &devices{kinds: make(map[string]*device)}
	if err := d.guardSteered(deps, cfg, log); err != nil {
		return nil, err
	}
	if err := d.guardOthers(deps, cfg, log); err != nil {
		return nil, err
	}
	d.countWrites(deps)
	return d, nil
}

// countWrites notes the devices whose drivers count their writes.
func (d *devices) countWrites(deps Deps) {
	for kind, raw := range map[string]any{"battery": deps.Battery, "meter": deps.Meter, "pv": deps.PV,
		"charger": deps.Charger, "heat_pump": deps.HeatPump, "loads": deps.Loads} {
		if w, ok := raw.(writeCounter); ok && d.kinds[kind] != nil {
			d.kinds[kind].writes = w
		}
	}
}

// add registers a guarded device and how its status is filled in.
func (d *devices) add(g interface {
	Run(ctx context.Context) error
	State() guard.State
	Kind() string
}, status func(*DeviceStatus)) {
	dev := &device{guard: g, status: status}
	d.all = append(d.all, dev)
	d.kinds[g.Kind()] = dev
}

// guardSteered guards the battery, the meter and the PV inverter: the
// devices the loop reads and steers every tick.
func (d *devices) guardSteered(deps Deps, cfg guard.Config, log *slog.Logger) (err error) {
	if deps.Battery != nil {
		if d.battery, err = guard.NewBattery(deps.Battery, cfg, log); err != nil {
			return err
		}
		d.add(d.battery, func(s *DeviceStatus) {
			s.Battery = lastOf(d.battery.Last)
			s.CommandW = commandOf(d.battery.Command)
		})
	}
	if deps.Meter != nil {
		if d.meter, err = guard.NewMeter(deps.Meter, cfg, log); err != nil {
			return err
		}
		d.add(d.meter, func(s *DeviceStatus) { s.Meter = lastOf(d.meter.Last) })
	}
	if deps.PV != nil {
		if d.pv, err = guard.NewPV(deps.PV, cfg, log); err != nil {
			return err
		}
		d.add(d.pv, func(s *DeviceStatus) {
			s.PV = lastOf(d.pv.Last)
			s.CommandW = commandOf(d.pv.Command)
		})
	}
	return nil
}

// guardOthers guards the charger, the heat pump and the household loads:
// the devices island mode sheds and restores.
func (d *devices) guardOthers(deps Deps, cfg guard.Config, log *slog.Logger) (err error) {
	if deps.Charger != nil {
		if d.charger, err = guard.NewCharger(deps.Charger, cfg, log); err != nil {
			return err
		}
		d.add(d.charger, func(s *DeviceStatus) {
			s.Charger = lastOf(d.charger.Last)
			s.CommandW = commandOf(d.charger.Command)
		})
	}
	if deps.HeatPump != nil {
		if d.heatPump, err = guard.NewHeatPump(deps.HeatPump, cfg, log); err != nil {
			return err
		}
		d.add(d.heatPump, func(s *DeviceStatus) {
			s.HeatPump = lastOf(d.heatPump.Last)
			s.CommandW = commandOf(d.heatPump.Command)
		})
	}
	if deps.Loads != nil {
		if d.loads, err = guard.NewLoads(deps.Loads, cfg, log); err != nil {
			return err
		}
		d.add(d.loads, func(s *DeviceStatus) {
			s.Loads = lastOf(d.loads.Last)
			if c := commandOf(d.loads.Command); c != nil {
				s.ShedCommand, s.DisconnectCommand = &c.ShedNonCritical, &c.DisconnectCritical
			}
		})
	}
	return nil
}

// run runs every guard under g's errgroup.
func (d *devices) run(ctx context.Context, g interface{ Go(func() error) }) {
	for _, dev := range d.all {
		g.Go(func() error { return dev.guard.Run(ctx) })
	}
}

// failed counts a failed loop call to the device of kind.
func (d *devices) failed(kind string) {
	if dev := d.kinds[kind]; dev != nil {
		dev.loopErrors.Add(1)
	}
}

// starting reports whether the device of kind has not been read yet and
// no call to it has failed or been refused: its guard is still starting.
func (d *devices) starting(kind string) bool {
	dev := d.kinds[kind]
	if dev == nil {
		return false
	}
	s := dev.guard.State()
	return s.ReadAt.IsZero() && s.Failures == 0 && s.Rejected == 0
}

// statuses reports every device.
func (d *devices) statuses() map[string]DeviceStatus {
	out := make(map[string]DeviceStatus, len(d.all))
	for _, dev := range d.all {
		s := DeviceStatus{State: dev.guard.State(), LoopErrors: dev.loopErrors.Load()}
		if dev.writes != nil {
			w := dev.writes.Writes()
			s.Writes = &w
		}
		dev.status(&s)
		out[s.Kind] = s
	}
	return out
}

func lastOf[R any](last func() (R, time.Time, bool)) *R {
	r, _, ok := last()
	if !ok {
		return nil
	}
	return &r
}

func commandOf[C any](cmd func() (C, bool)) *C {
	c, ok := cmd()
	if !ok {
		return nil
	}
	return &c
}
