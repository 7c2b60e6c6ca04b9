package homefile

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices"
	"github.com/gridmesh/gridmesh/devices/sunspec"
	"github.com/gridmesh/gridmesh/internal/backoff"
	"github.com/gridmesh/gridmesh/node"
)

// The backoff between discoveries of a SunSpec device that did not
// answer. Why 1 s to 1 min: an inverter still booting answers within
// seconds; a wrong unit ID or address waits for a person to fix it, and
// one try a minute costs the device nothing while the log keeps saying
// what is wrong.
const (
	sunspecRetryMin = time.Second
	sunspecRetryMax = time.Minute
)

// missingKinds are the kinds the home file lists that no device offers.
// Safe for concurrent use: a device still being looked for adds to it
// when it is found.
type missingKinds struct {
	mu   sync.Mutex
	list []node.MissingKind
}

func (m *missingKinds) add(k node.MissingKind) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.list = append(m.list, k)
}

// MissingKinds returns the kinds of device the home file lists that its
// devices do not offer (so far: a SunSpec device not found yet adds
// those it lacks once it is): node.Deps.MissingKinds.
func (h *Home) MissingKinds() []node.MissingKind {
	h.missing.mu.Lock()
	defer h.missing.mu.Unlock()
	return append([]node.MissingKind(nil), h.missing.list...)
}

// sunspecDevice is a SunSpec device of the home file, found or still
// looked for. Until it is found, its kinds are waiting (devices.ErrWaiting
// with the likely cause): the home runs, and its status says why.
type sunspecDevice struct {
	name    string
	cfg     sunspec.Config
	kinds   []string
	log     *slog.Logger
	missing *missingKinds

	dev     atomic.Pointer[sunspec.Device] // set once, when found
	lastErr atomic.Pointer[error]          // why it is not found yet; written by Build, then by retry
}

// connectSunSpec dials the device and takes the kinds the file lists. A
// kind the device lacks is left out (a battery or meter, which a home
// cannot run without, is a device that fails saying why), recorded in
// the home's missing kinds and logged. A device that does not answer is
// looked for again by a runner, with backoff, while the home runs.
func (h *Home) connectSunSpec(ctx context.Context, d *Device, cfg sunspec.Config, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &sunspecDevice{name: string(d.Name), cfg: cfg, kinds: d.Kinds, missing: &h.missing,
		log: log.With("component", "sunspec", "device", d.Name, "addr", cfg.Addr)}
	if err := cfg.Validate(); err != nil {
		return err // no retry mends a configuration
	}
	h.closers = append(h.closers, s.close)
	dev, err := sunspec.Dial(ctx, cfg, log)
	switch {
	case err == nil:
		s.found(dev)
	case ctx.Err() != nil:
		return err
	default:
		s.log.Warn("sunspec device not found: the home starts without it and keeps looking", "err", err, "retry_in", sunspecRetryMin)
		s.lastErr.Store(&err)
		h.Runners = append(h.Runners, s.retry)
	}
	for _, k := range d.Kinds {
		h.takeSunSpec(s, k, dev)
	}
	return nil
}

// takeSunSpec sets the home's device of kind: the device's own view when
// it was found with one, else one that waits for it (or fails, for a
// battery or meter it lacks).
func (h *Home) takeSunSpec(s *sunspecDevice, kind string, dev *sunspec.Device) {
	switch kind {
	case "battery":
		if b, ok := viewOf(dev, (*sunspec.Device).BatteryView); ok {
			h.Battery = b
		} else {
			h.Battery = sunspecBattery{s}
		}
	case "meter":
		if m, ok := viewOf(dev, (*sunspec.Device).MeterView); ok {
			h.Meter = m
		} else {
			h.Meter = sunspecMeter{s}
		}
	case "pv":
		if p, ok := viewOf(dev, (*sunspec.Device).PVView); ok {
			h.PV = p
		} else if dev == nil {
			h.PV = sunspecPV{s}
		}
	}
}

// viewOf is dev's view, if dev was found and has it.
func viewOf[V any](dev *sunspec.Device, view func(*sunspec.Device) (V, bool)) (V, bool) {
	if dev == nil {
		var zero V
		return zero, false
	}
	return view(dev)
}

// found takes the device up, recording and logging the kinds it lacks.
func (s *sunspecDevice) found(dev *sunspec.Device) {
	var lacks []string
	for _, k := range s.kinds {
		if !has(dev, k) {
			lacks = append(lacks, k)
			s.missing.add(node.MissingKind{Device: s.name, Kind: k, Reason: reasonMissing(dev, k)})
		}
	}
	if len(lacks) > 0 {
		s.log.Warn("sunspec device offers fewer kinds than the home file lists: the home runs without them",
			"missing", lacks, "models", modelIDs(dev))
	}
	s.dev.Store(dev)
}

func has(dev *sunspec.Device, kind string) (ok bool) {
	switch kind {
	case "battery":
		_, ok = dev.BatteryView()
	case "meter":
		_, ok = dev.MeterView()
	case "pv":
		_, ok = dev.PVView()
	}
	return ok
}

// reasonMissing says which models a kind would need, and which the
// device has.
func reasonMissing(dev *sunspec.Device, kind string) string {
	need := map[string]string{
		"battery": "model 124",
		"meter":   "a meter model (201-204)",
		"pv":      "an inverter model (101-103), a limit (123 or 704) and a rating (120 or 121)",
	}[kind]
	return fmt.Sprintf("no %s: it needs %s; the device has models %v", kind, need, modelIDs(dev))
}

func modelIDs(dev *sunspec.Device) []uint16 {
	var ids []uint16
	for _, m := range dev.Models() {
		ids = append(ids, m.ID)
	}
	return ids
}

// retry looks for the device again, backing off, until it is found or
// ctx ends; it returns nil either way.
func (s *sunspecDevice) retry(ctx context.Context) error {
	b := backoff.New(sunspecRetryMin, sunspecRetryMax)
	for b.Wait(ctx) {
		dev, err := sunspec.Dial(ctx, s.cfg, s.log)
		if err == nil {
			s.log.Info("sunspec device found")
			s.found(dev)
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		s.lastErr.Store(&err)
		s.log.Warn("sunspec device still not found; looking again", "err", err)
	}
	return nil
}

// close closes the device if it was found. Called once the runners have
// returned.
func (s *sunspecDevice) close() error {
	if dev := s.dev.Load(); dev != nil {
		return dev.Close()
	}
	return nil
}

// view returns the device's view of kind, or the error a call to it
// gets: waiting (retryable, devices.ErrWaiting) with the likely cause
// while the device is not found, permanent once it is found without it.
func view[V any](s *sunspecDevice, op, kind string, get func(*sunspec.Device) (V, bool)) (V, error) {
	var zero V
	dev := s.dev.Load()
	if dev == nil {
		why := "not looked for yet"
		if e := s.lastErr.Load(); e != nil {
			why = (*e).Error()
		}
		return zero, &gridmesh.DeviceError{Device: s.name, Op: op, Retryable: true,
			Err: fmt.Errorf("%w: %w: sunspec device not found: %s", gridmesh.ErrUnavailable, devices.ErrWaiting, why)}
	}
	v, ok := get(dev)
	if !ok {
		return zero, &gridmesh.DeviceError{Device: s.name, Op: op, Err: fmt.Errorf("sunspec: %s", reasonMissing(dev, kind))}
	}
	return v, nil
}

// writes is the device's write requests so far (0 before it is found).
func (s *sunspecDevice) writes() uint64 {
	if dev := s.dev.Load(); dev != nil {
		return dev.Stats().Writes
	}
	return 0
}

// sunspecBattery, sunspecMeter and sunspecPV are a SunSpec device's kinds
// while it is looked for (or, for a battery or meter, once it was found
// without them).
type (
	sunspecBattery struct{ s *sunspecDevice }
	sunspecMeter   struct{ s *sunspecDevice }
	sunspecPV      struct{ s *sunspecDevice }
)

var (
	_ devices.Battery  = sunspecBattery{}
	_ devices.Releaser = sunspecBattery{}
	_ devices.Meter    = sunspecMeter{}
	_ devices.PV       = sunspecPV{}
	_ devices.Releaser = sunspecPV{}
)

func (b sunspecBattery) Battery() (gridmesh.Flexibility, error) {
	v, err := view(b.s, "read battery", "battery", (*sunspec.Device).BatteryView)
	if err != nil {
		return gridmesh.Flexibility{}, err
	}
	return v.Battery()
}

func (b sunspecBattery) SetBatteryPower(w gridmesh.W) error {
	v, err := view(b.s, "set battery power", "battery", (*sunspec.Device).BatteryView)
	if err != nil {
		return err
	}
	return v.SetBatteryPower(w)
}

// Release releases the battery if the device was found with one: one not
// found was never steered.
func (b sunspecBattery) Release(ctx context.Context) error {
	if v, err := view(b.s, "release battery", "battery", (*sunspec.Device).BatteryView); err == nil {
		return v.Release(ctx)
	}
	return nil
}

func (b sunspecBattery) Writes() uint64 { return b.s.writes() }

func (m sunspecMeter) Meter() (gridmesh.MeterReading, error) {
	v, err := view(m.s, "read meter", "meter", (*sunspec.Device).MeterView)
	if err != nil {
		return gridmesh.MeterReading{}, err
	}
	return v.Meter()
}

func (m sunspecMeter) Writes() uint64 { return m.s.writes() }

func (p sunspecPV) PV() (gridmesh.PVState, error) {
	v, err := view(p.s, "read pv", "pv", (*sunspec.Device).PVView)
	if err != nil {
		return gridmesh.PVState{}, err
	}
	return v.PV()
}

func (p sunspecPV) SetPVLimit(w gridmesh.W) error {
	v, err := view(p.s, "set pv limit", "pv", (*sunspec.Device).PVView)
	if err != nil {
		return err
	}
	return v.SetPVLimit(w)
}

// Release lifts the PV limit if the device was found with one.
func (p sunspecPV) Release(ctx context.Context) error {
	if v, err := view(p.s, "release pv limit", "pv", (*sunspec.Device).PVView); err == nil {
		return v.Release(ctx)
	}
	return nil
}

func (p sunspecPV) Writes() uint64 { return p.s.writes() }
