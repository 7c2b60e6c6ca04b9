package mqtt

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices"
	"github.com/gridmesh/gridmesh/devices/mqtt/internal/session"
)

// Device is one device reached through an MQTT broker. Run keeps it
// connected; its reading and set methods, on the adapter of its kind (see
// AsBattery and the others), never wait on the network: a reading is the
// newest state the device published, a setpoint is sent in the
// background.
//
// A Device is safe for concurrent use.
type Device struct {
	cfg  Config
	log  *slog.Logger
	dec  decoder
	set  *setpoint          // nil: the kind takes no setpoint
	tmpl *template.Template // nil: no set topic
	// needsGrid: the set template renders GridW, computed from the state.
	needsGrid bool
	now       func() time.Time // time.Now; tests of staleness replace it
	// wake tells the publisher to look at the setpoint again. It holds
	// one signal; when it is full a signal is pending and a new one is
	// dropped, which loses nothing (the publisher reads the newest
	// setpoint when it wakes).
	wake    chan struct{}
	running atomic.Bool
	stats   counters

	// pubMu is held while a setpoint is taken and published, and by
	// Release: no setpoint goes out after the release.
	pubMu sync.Mutex

	// mu guards the fields below, written by the connection (Run's
	// goroutines, paho's router) and read by the reading and set methods.
	mu        sync.Mutex
	connected bool          // subscribed to the state topic now
	everUp    bool          // connected at least once
	fresh     bool          // connected, no state received on this connection yet
	slots     []slot        // every field's newest value, by index in the kind's fields
	missing   []string      // required fields no payload has given yet
	have      bool          // a state was assembled (st, at are set)
	st        state         // the newest state assembled
	at        time.Time     // when st's oldest required figure arrived
	lastBad   bool          // the newest payload was refused
	setpoint  []byte        // the newest setpoint's payload, nil before the first; never modified
	want      *SetpointData // with needsGrid: the battery power held, rendered anew on every reading
	resend    bool          // publish the setpoint even if this connection already did
	conn      *session.Conn // the connection serving now; nil while none
}

// New validates cfg and returns a device that is not connected yet: call
// Run. An empty ClientID becomes "gridmesh-<Device>-<8 random hex>". A nil
// log discards.
func New(cfg Config, log *slog.Logger) (*Device, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.Fields = maps.Clone(cfg.Fields)
	if cfg.ClientID == "" {
		cfg.ClientID = session.RandomClientID("gridmesh-" + cfg.Device)
	}
	dec, err := newDecoder(cfg)
	if err != nil { // Validate built it already
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	d := &Device{
		cfg:       cfg,
		log:       log.With("component", "mqtt", "device", cfg.Device, "kind", string(cfg.Kind)),
		dec:       dec,
		set:       specs[cfg.Kind].set,
		now:       time.Now,
		wake:      make(chan struct{}, 1),
		slots:     make([]slot, len(dec.spec.fields)),
		needsGrid: usesGrid(cfg.SetTemplate),
	}
	if cfg.SetTopic != "" {
		t, err := parseSetTemplate(cfg.SetTemplate)
		if err != nil { // Validate parsed it already
			return nil, fmt.Errorf("%w: set template: %w", ErrInvalidConfig, err)
		}
		d.tmpl = t
	}
	return d, nil
}

// Kind reports what the device is.
func (d *Device) Kind() Kind { return d.cfg.Kind }

// Name reports the device's name (Config.Device).
func (d *Device) Name() string { return d.cfg.Device }

// read returns the newest state, or an error wrapping
// gridmesh.ErrUnavailable when the driver is not connected, has no state
// yet (devices.ErrWaiting too: silence before the first state is no
// failure), or the newest is older than StaleAfter.
func (d *Device) read(op string) (state, error) {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	var why string
	switch {
	case !d.have && !d.connected:
		return state{}, d.waiting(op, "not connected to the broker yet")
	case !d.have && len(d.missing) > 0:
		return state{}, d.waiting(op, fmt.Sprintf("no value yet for %s", strings.Join(d.missing, ", ")))
	case !d.have:
		return state{}, d.waiting(op, "no state received yet")
	case !d.connected:
		why = "not connected to the broker"
	case now.Sub(d.at) > d.cfg.StaleAfter:
		why = fmt.Sprintf("last state %v old, stale after %v", now.Sub(d.at).Round(time.Millisecond), d.cfg.StaleAfter)
	default:
		return d.st, nil
	}
	return state{}, d.unavailable(op, why)
}

// receive handles one message on one of the device's topics (on paho's
// router goroutine). A payload that does not decode is counted and
// changes nothing; one that does updates its fields, and once every
// required field has a value they make the newest state. If the device
// has just appeared (first state on this connection, or after being
// stale) the last setpoint is sent again: the device may have restarted,
// or subscribed after the driver sent it.
func (d *Device) receive(topic string, payload []byte) {
	d.stats.messages.Add(1)
	vals, err := d.dec.decode(topic, payload)
	now := d.now()
	d.mu.Lock()
	var a assembled
	if err == nil {
		a, err = d.merge(vals, now)
	}
	if err != nil {
		first := !d.lastBad
		d.lastBad = true
		d.mu.Unlock()
		d.stats.decodeErrors.Add(1)
		// Log the change from good to bad loudly, a device that keeps
		// sending garbage quietly: the counter tells how much.
		if first {
			d.log.Warn("state payload refused", "topic", topic, "err", err)
		} else {
			d.log.Debug("state payload refused", "topic", topic, "err", err)
		}
		return
	}
	d.lastBad = false
	d.missing = a.missing
	if len(a.missing) > 0 {
		d.mu.Unlock()
		return
	}
	appeared := d.fresh || !d.have || now.Sub(d.at) > d.cfg.StaleAfter
	d.st, d.at, d.have, d.fresh = a.st, a.at, true, false
	if appeared {
		d.resend = true
	}
	changed := d.needsGrid && d.regrid(a.st)
	d.mu.Unlock()
	if changed && !appeared {
		d.signal()
	}
	if appeared {
		d.signal()
		d.log.Debug("device state received after a gap or reconnect")
	}
}

// merge applies one payload's fields to the slots and assembles them;
// on an error the slots are left as they were. The caller holds mu.
func (d *Device) merge(vals []fieldValue, now time.Time) (assembled, error) {
	next := slices.Clone(d.slots)
	for _, fv := range vals {
		next[fv.idx] = slot{v: fv.v, ok: fv.ok, at: now}
	}
	a, err := d.dec.assemble(next, now, d.cfg.StaleAfter)
	if err != nil {
		return assembled{}, err
	}
	d.slots = next
	return a, nil
}

// signal wakes the publisher without waiting.
func (d *Device) signal() {
	select {
	case d.wake <- struct{}{}:
	default: // a wake-up is pending; it will see the newest setpoint
	}
}

// unavailable is the retryable error of a device that cannot be used now.
func (d *Device) unavailable(op, why string) error {
	return &gridmesh.DeviceError{Device: d.cfg.Device, Op: op, Retryable: true,
		Err: fmt.Errorf("%w: %s", gridmesh.ErrUnavailable, why)}
}

// waiting is the error of a device that has not published its first
// state: unavailable, and waiting (devices.ErrWaiting), not failed.
func (d *Device) waiting(op, why string) error {
	return &gridmesh.DeviceError{Device: d.cfg.Device, Op: op, Retryable: true,
		Err: fmt.Errorf("%w: %w: %s", gridmesh.ErrUnavailable, devices.ErrWaiting, why)}
}

// permanent is the error of a request that will not succeed if repeated.
func (d *Device) permanent(op string, err error) error {
	return &gridmesh.DeviceError{Device: d.cfg.Device, Op: op, Err: err}
}

// errRunTwice is returned by a second call to Run.
var errRunTwice = errors.New("mqtt: Run called twice")
