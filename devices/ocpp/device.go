package ocpp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices"
	"github.com/gridmesh/gridmesh/internal/backoff"
	ocpp16 "github.com/lorenzodonini/ocpp-go/ocpp1.6"
	"github.com/lorenzodonini/ocpp-go/ocppj"
)

// ErrBadSetpoint is wrapped by the error SetChargePower returns for a
// power it refuses (not finite); nothing is sent.
var ErrBadSetpoint = errors.New("ocpp: bad setpoint")

// Charger is the home's central system for one charger: it listens for
// the charger's websocket, answers its OCPP 1.6 calls, reads its state
// from them and steers it with charging profiles.
type Charger struct {
	cfg  Config
	log  *slog.Logger
	srv  *wsServer
	cs   ocpp16.CentralSystem
	disp *ocppj.DefaultServerDispatcher
	// wake pokes the writer (Run) to look at what is due. Capacity 1:
	// when full, a poke is pending already and the writer will look.
	wake  chan struct{}
	stats stats

	mu      sync.Mutex // guards everything below
	st      station
	steer   steer
	gen     uint64     // the connection's generation: an answer from an older one is not used
	unit    rateUnit   // the charger's charging rate unit
	setup   setupState // what was asked of the charger on this connection
	pending error      // a failed request's error, returned once by the next call
	bo      *backoff.Backoff
	txSeq   int    // the last transaction id handed out
	steered bool   // a profile of ours may be on the charger
	epoch   uint64 // counts releases: an answer to a profile sent before one is not used
	running bool   // Run serves
}

// setupState is what the driver asked of the charger beyond profiles.
type setupState struct {
	unitKnown     bool // the charger's rate unit is known
	unitAsked     bool // GetConfiguration sent, this connection
	bootTriggered bool // TriggerMessage(BootNotification) sent, this connection
	statusAsked   bool // TriggerMessage(StatusNotification) sent, this connection
	calls         bool // the charger called on this connection
}

var (
	_ devices.Charger  = (*Charger)(nil)
	_ devices.Releaser = (*Charger)(nil)
)

// Listen validates cfg and opens the listener the charger connects to;
// it starts nothing (Run serves). Close it if Run is never run.
func Listen(cfg Config, log *slog.Logger) (*Charger, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("ocpp: %s: listen: %w", cfg.Device, err)
	}
	log = log.With("component", "ocpp", "device", cfg.Device)
	c := &Charger{cfg: cfg, log: log, wake: make(chan struct{}, 1), bo: backoff.New(cfg.RetryMin, cfg.RetryMax)}
	c.srv = newWSServer(ln, cfg.SilenceTimeout, log)
	c.disp = ocppj.NewDefaultServerDispatcher(ocppj.NewFIFOQueueMap(0))
	c.disp.SetTimeout(cfg.AnswerTimeout)
	c.cs = ocpp16.NewCentralSystem(ocppj.NewServer(c.srv, c.disp, nil, profiles()...), c.srv)
	c.cs.SetCoreHandler(handler{c})
	c.cs.SetNewChargingStationValidationHandler(func(id string, _ *http.Request) bool { return id == cfg.ChargePointID })
	c.cs.SetNewChargePointHandler(func(ocpp16.ChargePointConnection) { c.connected() })
	c.cs.SetChargePointDisconnectedHandler(func(ocpp16.ChargePointConnection) { c.disconnected() })
	return c, nil
}

// Addr is the address the charger connects to.
func (c *Charger) Addr() net.Addr { return c.srv.ln.Addr() }

// Close closes the listener of a Charger whose Run never ran.
func (c *Charger) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return nil
	}
	if err := c.srv.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// releaseTimeout bounds the release Run does when its context ends. Why
// 5 s: a charger on the home's LAN answers in tens of milliseconds; one
// that has not in 5 s falls back on the profile's validity.
const releaseTimeout = 5 * time.Second

// Run serves the charger until ctx ends; then it releases the charger
// (clears the profile it set, within releaseTimeout) while the charger is
// still connected, closes every connection and returns ctx's error. Call
// it once.
func (c *Charger) Run(ctx context.Context) error {
	c.mu.Lock()
	c.running = true
	c.mu.Unlock()
	served := make(chan struct{})
	go func() {
		defer close(served)
		c.cs.Start(0, "/{id}") // blocks until Stop; the listener has the address
	}()
	<-c.srv.started // the dispatcher runs: Stop may follow
	c.write(ctx)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	if err := c.Release(rctx); err != nil {
		c.log.Warn("charger not released; it drops the profile at its validTo", "err", err)
	}
	cancel()
	c.cs.Stop()
	<-served
	c.mu.Lock()
	c.st = c.st.disconnect()
	c.gen++
	c.mu.Unlock()
	return ctx.Err()
}

// poke wakes the writer.
func (c *Charger) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Charger reports the charger and the car. Before the charger has
// booted and reported its connector on its connection (and after it
// disconnects, until it reports again) the error wraps devices.ErrWaiting
// and gridmesh.ErrUnavailable. A request of the driver's that failed
// since the last call (no answer in AnswerTimeout) is returned once, as a
// retryable *gridmesh.DeviceError.
func (c *Charger) Charger() (gridmesh.ChargerState, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.takePending(); err != nil {
		return gridmesh.ChargerState{}, err
	}
	if why := c.st.waiting(); why != "" {
		return gridmesh.ChargerState{}, c.deviceErr("read", true, fmt.Errorf("%w: %w: %s", gridmesh.ErrUnavailable, devices.ErrWaiting, why))
	}
	return c.st.reading(c.cfg), nil
}

// SetChargePower holds charging power w (0 or less: none; otherwise
// clamped to [MinW, MaxW]) on the charger from now on, sending the
// profile when the pacing allows (see pacing.go). It does not wait for
// the charger: a request that failed since the last call is returned
// once. A non-finite w is refused.
func (c *Charger) SetChargePower(w gridmesh.W) error {
	if !w.Finite() {
		return c.deviceErr("set power", false, fmt.Errorf("%w: %v", ErrBadSetpoint, float64(w)))
	}
	minW, maxW := c.cfg.limits()
	c.mu.Lock()
	c.steer.want, c.steer.wanted = clamp(w, minW, maxW), true
	err := c.takePending()
	c.mu.Unlock()
	c.poke()
	return err
}

// takePending returns and forgets the pending error. The caller holds mu.
func (c *Charger) takePending() error {
	err := c.pending
	c.pending = nil
	return err
}

func (c *Charger) deviceErr(op string, retryable bool, err error) error {
	return &gridmesh.DeviceError{Device: c.cfg.Device, Op: op, Retryable: retryable, Err: err}
}

// connected is a new connection of the charger.
func (c *Charger) connected() {
	c.stats.connects.Add(1)
	c.mu.Lock()
	c.gen++
	c.st = c.st.connect()
	c.setup = setupState{unitKnown: c.setup.unitKnown}
	c.steer.inFlight, c.steer.sentOK = false, false
	c.mu.Unlock()
	c.log.Info("charger connected")
	c.poke()
}

// disconnected is the end of the charger's connection, announced or not.
func (c *Charger) disconnected() {
	c.stats.disconnects.Add(1)
	c.mu.Lock()
	c.gen++
	c.st = c.st.disconnect()
	c.steer.inFlight, c.steer.sentOK = false, false
	c.mu.Unlock()
	c.log.Info("charger disconnected; waiting for it to connect again")
}
