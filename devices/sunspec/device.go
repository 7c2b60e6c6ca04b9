package sunspec

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simonvetter/modbus"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices/sunspec/internal/modbuslog"
)

// Device is a SunSpec device over Modbus TCP. Its capabilities are the
// views BatteryView, MeterView and PVView return; it is safe for
// concurrent use, and its calls are carried out one at a time.
type Device struct {
	cfg    Config
	log    *slog.Logger
	now    func() time.Time // the write policy's clock
	stats  counters
	source atomic.Value // PowerSource of the newest battery reading

	// Set by Dial, then read-only: what the device was found to be.
	base    uint16
	chain   []ModelHeader
	common  Common
	battery *Battery
	meter   *Meter
	pv      *PV

	pending chan struct{}  // one token per call in flight, cap maxInFlight
	wg      sync.WaitGroup // the workers of calls in flight
	closeMu sync.RWMutex   // guards closed, and wg.Add against Close's Wait
	closed  bool

	ioMu     sync.Mutex // held by the worker doing I/O; guards the fields below
	sess     *session   // nil: connect on the next call
	sessions int        // connections made
	// What gridmesh holds on the device, and when a setpoint was last
	// written to it (the budget battery and PV share); see writes.go.
	bat, pvLim   steer
	lastWrite    time.Time
	lastWriteErr string // the newest refused write's error, logged once
}

// Option sets a collaborator of a Device.
type Option func(*Device)

// WithClock makes the device take the time from now instead of
// time.Now: the clock the write policy paces setpoints by (Modbus
// timeouts stay on the wall clock). For tests.
func WithClock(now func() time.Time) Option { return func(d *Device) { d.now = now } }

// Stats counts what a Device has done since Dial.
type Stats struct {
	// Writes is the Modbus write requests sent (one request writes one
	// run of registers), setpoints, their statics and releases alike.
	Writes uint64 `json:"writes"`
	// SetpointWrites is the setpoints written (a new value, a refresh
	// within the reversion time, or a first write on a connection with
	// what puts it in force); each is one or more Writes.
	SetpointWrites uint64 `json:"setpoint_writes"`
	// Connections is the Modbus connections made, the first included.
	Connections uint64 `json:"connections"`
	// BatteryPowerSource is where the newest battery reading's power came
	// from (Source802, Source160, Source103, SourceNone); empty before
	// the first.
	BatteryPowerSource PowerSource `json:"battery_power_source,omitempty"`
}

// counters are the live counters behind Stats.
type counters struct {
	writes, setpointWrites, connections atomic.Uint64
}

// Stats returns the counters now.
func (d *Device) Stats() Stats {
	st := Stats{
		Writes:         d.stats.writes.Load(),
		SetpointWrites: d.stats.setpointWrites.Load(),
		Connections:    d.stats.connections.Load(),
	}
	if src, ok := d.source.Load().(PowerSource); ok {
		st.BatteryPowerSource = src
	}
	return st
}

// maxInFlight bounds the calls a Device holds at once (one doing I/O, the
// rest waiting for it): enough for every view polled concurrently, few
// enough that callers of a device that stopped answering fail fast
// instead of piling up goroutines behind it.
const maxInFlight = 8

// session is one Modbus TCP connection and what was discovered over it.
type session struct {
	client *modbus.ModbusClient
	writes *atomic.Uint64 // the device's write counter
	base   uint16
	chain  []ModelHeader
	first  map[uint16]ModelHeader // the first model of each ID
	common Common
	np     *nameplate // 120, read once per connection: ratings are static
	set    *settings  // 121, likewise
}

// ioError is a failure of the Modbus exchange itself (not of what the
// device said). reconnect is set when the connection cannot be trusted
// any more.
type ioError struct {
	err       error
	reconnect bool
}

func (e *ioError) Error() string { return e.err.Error() }
func (e *ioError) Unwrap() error { return e.err }

// Dial connects to the device, finds its SunSpec base and walks its model
// chain, and returns the device with the capabilities its models give it.
// Every Modbus request is bounded by cfg.Timeout and the whole by ctx. If
// ctx ends first, Dial returns at once; a request in flight then finishes
// in the background (within cfg.Timeout, or 5 s for the TCP connect, which
// the library bounds) and closes its connection. A nil log discards.
func Dial(ctx context.Context, cfg Config, log *slog.Logger, opts ...Option) (*Device, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Device{
		cfg:     cfg,
		log:     log.With("component", "sunspec", "device", cfg.Device, "addr", cfg.Addr),
		pending: make(chan struct{}, maxInFlight),
		now:     time.Now,
	}
	for _, o := range opts {
		o(d)
	}
	s, err := call(ctx, d, "dial", func(ctx context.Context, s *session) (*session, error) { return s, nil })
	if err != nil {
		d.shut()
		return nil, explainDial(cfg, err)
	}
	d.base, d.chain, d.common = s.base, s.chain, s.common
	if _, ok := s.first[ModelStorage]; ok {
		d.battery = &Battery{d}
	}
	if _, ok := s.find(meterModels...); ok {
		d.meter = &Meter{d}
	}
	if _, ok := s.find(inverterModels...); ok {
		_, ctl := s.find(ModelDERControls, ModelControls)
		if _, peak := peakW(s.set, s.np); ctl && peak {
			d.pv = &PV{d}
		}
	}
	d.log.Info("sunspec device found", "base", d.base, "models", modelIDs(d.chain),
		"manufacturer", d.common.Manufacturer, "model", d.common.Model, "serial", d.common.Serial,
		"battery", d.battery != nil, "meter", d.meter != nil, "pv", d.pv != nil)
	return d, nil
}

var (
	inverterModels = []uint16{ModelInverter3Phase, ModelInverterSplitPhase, ModelInverter1Phase}
	meterModels    = []uint16{ModelMeter3PhaseWye, ModelMeter3PhaseDelta, ModelMeterSplitPhase, ModelMeter1Phase}
)

func modelIDs(chain []ModelHeader) []uint16 {
	ids := make([]uint16, len(chain))
	for i, h := range chain {
		ids[i] = h.ID
	}
	return ids
}

// BatteryView returns the device's battery: it has one if it has model
// 124 (with 802 for the battery's power and capacity, when present).
func (d *Device) BatteryView() (*Battery, bool) { return d.battery, d.battery != nil }

// MeterView returns the device's grid meter: it has one if it has a meter
// model (201 to 204).
func (d *Device) MeterView() (*Meter, bool) { return d.meter, d.meter != nil }

// PVView returns the device's PV inverter: it has one if it has an
// inverter model (101 to 103), an output limit (704 or 123) and a rating
// to take the limit's percentage of (121 WMax or 120 WRtg).
func (d *Device) PVView() (*PV, bool) { return d.pv, d.pv != nil }

// Common returns the device's model 1 as read by Dial.
func (d *Device) Common() Common { return d.common }

// Models returns the model chain as read by Dial.
func (d *Device) Models() []ModelHeader { return append([]ModelHeader(nil), d.chain...) }

// Base returns the register address of the "SunS" marker found by Dial.
func (d *Device) Base() uint16 { return d.base }

// Close waits for the calls in flight (within Timeout a request, or 5 s
// for a TCP connect in progress) and closes the connection. Calls after Close fail with ErrClosed.
func (d *Device) Close() error {
	d.shut()
	d.wg.Wait()
	d.ioMu.Lock()
	defer d.ioMu.Unlock()
	if d.sess != nil {
		d.sess.client.Close()
		d.sess = nil
	}
	return nil
}

// shut marks the device closed without waiting: workers still running
// close their connection when they finish.
func (d *Device) shut() {
	d.closeMu.Lock()
	d.closed = true
	d.closeMu.Unlock()
}

// call runs fn on a connected session, connecting (and discovering) first
// if need be, and returns within the call's bound: cfg.Timeout, or ctx
// for Dial. fn runs on a worker goroutine so that a device that stops
// answering cannot hold the caller past the bound; the worker finishes on
// its own (each request is bounded by cfg.Timeout) and stops at the next
// request once the caller has gone.
func call[T any](ctx context.Context, d *Device, op string, fn func(context.Context, *session) (T, error)) (T, error) {
	var zero T
	d.closeMu.RLock()
	if d.closed {
		d.closeMu.RUnlock()
		return zero, &gridmesh.DeviceError{Device: d.cfg.Device, Op: op, Err: ErrClosed}
	}
	select {
	case d.pending <- struct{}{}:
	default:
		d.closeMu.RUnlock()
		return zero, d.unavailable(op, fmt.Errorf("%d calls already waiting for the device", maxInFlight))
	}
	d.wg.Add(1)
	d.closeMu.RUnlock()

	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1) // buffered: the worker never blocks on a caller that left
	go func() {
		defer d.wg.Done()
		defer func() { <-d.pending }()
		v, err := locked(ctx, d, fn)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return zero, d.wrap(op, r.err)
		}
		return r.v, nil
	case <-ctx.Done():
		return zero, d.unavailable(op, fmt.Errorf("no answer in time: %w", context.Cause(ctx)))
	}
}

// do is call bounded by cfg.Timeout, for the capability methods.
func do[T any](d *Device, op string, fn func(context.Context, *session) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.Timeout)
	defer cancel()
	return call(ctx, d, op, fn)
}

// locked runs fn holding ioMu, on the current session or a new one.
func locked[T any](ctx context.Context, d *Device, fn func(context.Context, *session) (T, error)) (v T, err error) {
	d.ioMu.Lock()
	defer d.ioMu.Unlock()
	defer func() {
		d.closeMu.RLock()
		closed := d.closed
		d.closeMu.RUnlock()
		var ioe *ioError
		if d.sess != nil && (closed || errors.As(err, &ioe) && ioe.reconnect) {
			d.sess.client.Close()
			d.sess = nil
			if !closed {
				d.log.Info("sunspec connection dropped; reconnecting on the next call", "err", err)
			}
		}
	}()
	if err := ctx.Err(); err != nil {
		return v, &ioError{err: err} // the caller has gone: do no I/O for it
	}
	if d.sess == nil {
		s, err := d.connect(ctx)
		if err != nil {
			return v, err
		}
		d.sess = s
		d.sessions++
		d.stats.connections.Add(1)
		if d.sessions > 1 {
			d.log.Info("sunspec device reconnected", "base", s.base, "models", modelIDs(s.chain))
		}
	}
	return fn(ctx, d.sess)
}

// connect opens a connection and discovers the device over it.
func (d *Device) connect(ctx context.Context) (*session, error) {
	c, err := modbus.NewClient(&modbus.ClientConfiguration{
		URL:     "tcp://" + d.cfg.Addr,
		Timeout: d.cfg.Timeout,
		Logger:  modbuslog.New(d.log),
	})
	if err != nil {
		return nil, fmt.Errorf("modbus client for %s: %w", d.cfg.Addr, err)
	}
	if err := c.SetUnitId(d.cfg.UnitID); err != nil {
		return nil, err
	}
	if err := c.Open(); err != nil {
		return nil, &ioError{err: fmt.Errorf("connect: %w", err), reconnect: true}
	}
	s := &session{client: c, writes: &d.stats.writes}
	if err := s.discover(ctx, d.cfg); err != nil {
		c.Close()
		return nil, err
	}
	if err := d.checkReversion(ctx, s); err != nil {
		c.Close()
		return nil, err
	}
	return s, nil
}

// checkReversion warns when a control the driver writes has no reversion
// time: its setpoints then hold until the next one, gridmesh alive or not.
func (d *Device) checkReversion(ctx context.Context, s *session) error {
	if h, ok := s.first[ModelStorage]; ok {
		regs, err := s.block(ctx, h, lenStorage)
		if err != nil {
			return err
		}
		if st, err := decodeStorage(regs); err == nil && !st.rvrtOK {
			d.log.Warn("battery rates have no reversion time: a setpoint holds until the next one")
		}
	}
	if h, ok := s.find(ModelDERControls, ModelControls); ok {
		regs, err := s.block(ctx, h, max(lenDERControls, lenControls))
		if err != nil {
			return err
		}
		rvrt := true
		if h.ID == ModelDERControls {
			c, err := decodeDERControls(regs)
			rvrt = err != nil || c.rvrtOK
		} else {
			c, err := decodeControls(regs)
			rvrt = err != nil || c.rvrtOK
		}
		if !rvrt {
			d.log.Warn("PV limit has no reversion time: a limit holds until the next one", "model", h.ID)
		}
	}
	return nil
}

// discover finds the base and the chain, and reads the static models.
func (s *session) discover(ctx context.Context, cfg Config) error {
	read := func(addr, n uint16) ([]uint16, error) { return s.read(ctx, addr, n) }
	base, chain, err := discover(read, cfg.Bases, cfg.MaxModels)
	if err != nil {
		return err
	}
	s.base, s.chain, s.first = base, chain, make(map[uint16]ModelHeader)
	for _, h := range chain {
		if _, ok := s.first[h.ID]; !ok {
			s.first[h.ID] = h
		}
	}
	if h, ok := s.first[ModelCommon]; ok {
		regs, err := s.block(ctx, h, lenCommon)
		if err != nil {
			return err
		}
		if s.common, err = decodeCommon(regs); err != nil {
			return err
		}
	}
	if h, ok := s.first[ModelNameplate]; ok {
		regs, err := s.block(ctx, h, lenNameplate)
		if err != nil {
			return err
		}
		np, err := decodeNameplate(regs)
		if err != nil {
			return err
		}
		s.np = &np
	}
	if h, ok := s.first[ModelSettings]; ok {
		regs, err := s.block(ctx, h, lenSettings)
		if err != nil {
			return err
		}
		set, err := decodeSettings(regs)
		if err != nil {
			return err
		}
		s.set = &set
	}
	return nil
}

// find returns the first model present among ids, in the order given.
func (s *session) find(ids ...uint16) (ModelHeader, bool) {
	for _, id := range ids {
		if h, ok := s.first[id]; ok {
			return h, true
		}
	}
	return ModelHeader{}, false
}

// need is find, failing with ErrModelMissing.
func (s *session) need(ids ...uint16) (ModelHeader, error) {
	if h, ok := s.find(ids...); ok {
		return h, nil
	}
	return ModelHeader{}, fmt.Errorf("%w: none of %v in the chain", ErrModelMissing, ids)
}

// block reads a model's first n registers (ID and L included), or all of
// it if it is shorter, for the decoder to refuse.
func (s *session) block(ctx context.Context, h ModelHeader, n int) ([]uint16, error) {
	return s.read(ctx, h.Addr, uint16(min(n, int(h.Len)+2)))
}

// maxRead is the most registers one Modbus read may carry.
const maxRead = 125

// read reads n holding registers in as few requests as Modbus allows.
func (s *session) read(ctx context.Context, addr, n uint16) ([]uint16, error) {
	out := make([]uint16, 0, n)
	for n > 0 {
		if err := ctx.Err(); err != nil {
			return nil, &ioError{err: err}
		}
		k := min(n, maxRead)
		regs, err := s.client.ReadRegisters(addr, k, modbus.HOLDING_REGISTER)
		if err != nil {
			return nil, classify(fmt.Errorf("read %d registers at %d: %w", k, addr, err))
		}
		out = append(out, regs...)
		addr += k
		n -= k
	}
	return out, nil
}

// write writes registers at addr with one request.
func (s *session) write(ctx context.Context, addr uint16, regs []uint16) error {
	if err := ctx.Err(); err != nil {
		return &ioError{err: err}
	}
	s.writes.Add(1)
	if err := s.client.WriteRegisters(addr, regs); err != nil {
		return classify(fmt.Errorf("write %d registers at %d: %w", len(regs), addr, err))
	}
	return nil
}

// classify sorts a Modbus client error: an exception saying the request
// is wrong is ErrRefused (permanent); one saying the device is busy or
// failing is retryable on the same connection; anything else (timeouts,
// dropped connections, garbled frames) is retryable on a new connection.
func classify(err error) error {
	switch {
	case errors.Is(err, modbus.ErrIllegalFunction), errors.Is(err, modbus.ErrIllegalDataAddress),
		errors.Is(err, modbus.ErrIllegalDataValue):
		return fmt.Errorf("%w: %w", ErrRefused, err)
	case errors.Is(err, modbus.ErrServerDeviceBusy), errors.Is(err, modbus.ErrServerDeviceFailure),
		errors.Is(err, modbus.ErrAcknowledge), errors.Is(err, modbus.ErrGWPathUnavailable),
		errors.Is(err, modbus.ErrGWTargetFailedToRespond):
		return &ioError{err: err}
	default:
		return &ioError{err: err, reconnect: true}
	}
}

// wrap makes err a *gridmesh.DeviceError: retryable and wrapping
// gridmesh.ErrUnavailable for I/O failures, permanent otherwise.
func (d *Device) wrap(op string, err error) error {
	var ioe *ioError
	if errors.As(err, &ioe) {
		return d.unavailable(op, err)
	}
	return &gridmesh.DeviceError{Device: d.cfg.Device, Op: op, Err: err}
}

func (d *Device) unavailable(op string, err error) error {
	return &gridmesh.DeviceError{Device: d.cfg.Device, Op: op, Retryable: true,
		Err: fmt.Errorf("%w: %w", gridmesh.ErrUnavailable, err)}
}
