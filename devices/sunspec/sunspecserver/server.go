package sunspecserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/simonvetter/modbus"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices/sunspec/internal/modbuslog"
)

// Server serves devices as a SunSpec register map over Modbus TCP. It is
// safe for concurrent use.
type Server struct {
	cfg   Config
	dev   Devices
	log   *slog.Logger
	chain []modelAt // in register order
	done  chan struct{}
	ran   atomic.Bool
	// writes counts the write requests within the map for Config.UnitID,
	// accepted or refused; written by the library's connection goroutines.
	writes atomic.Uint64

	// Set by Listen, before Run.
	ms   *modbus.ModbusServer
	addr string

	// mu guards the fields below. Requests and Run's ticks hold it while
	// they read the devices, apply writes and reversions and render the
	// registers, so a response is of one instant.
	mu      sync.Mutex
	regs    []uint16 // the map from Base: marker, models, end marker
	bat     batteryControl
	pv      pvControl
	batSent *gridmesh.W   // last command sent to the battery; nil: none yet
	pvSent  *gridmesh.W   // last limit sent to the PV inverter; nil: none yet
	peakW   gridmesh.W    // the PV inverter's rating, from its last reading
	stall   chan struct{} // non-nil while stalled; closed to release
	stopped bool
}

// modelAt is a served model and the index of its ID register in regs.
type modelAt struct {
	id  uint16
	at  int
	len int // L: registers after ID and L
}

// Timing.
const (
	// tick is how often Run applies reversions and the fallback: SunSpec
	// reversion times are whole seconds, so a reversion lands within a
	// quarter of a second of its due time.
	tick = 250 * time.Millisecond
	// idleTimeout closes a client connection silent for this long, as
	// devices do to free their few connection slots.
	idleTimeout = 2 * time.Minute
	// maxClients is how many connections the server holds at once: real
	// devices allow a handful.
	maxClients = 8
	// listenTries is how many ephemeral ports Listen tries for a ":0"
	// address before giving up (see Listen).
	listenTries = 10
)

// New validates cfg against the devices and returns a server that serves
// them; it starts nothing. A nil log discards.
func New(cfg Config, dev Devices, log *slog.Logger) (*Server, error) {
	if err := cfg.validate(dev); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:  cfg,
		dev:  dev,
		log:  log.With("component", "sunspecserver"),
		done: make(chan struct{}),
		bat:  idleBattery(0),
		pv:   pvControl{pct: pct100Lim, pctRvrt: pct100Lim},
	}
	at := 2
	for _, id := range cfg.models(dev) {
		n := modelLen[id]
		s.chain = append(s.chain, modelAt{id: id, at: at, len: n})
		at += 2 + n
	}
	s.regs = make([]uint16, at+2)
	s.regs[0], s.regs[1] = 0x5375, 0x6e53 // "SunS"
	for _, m := range s.chain {
		s.regs[m.at], s.regs[m.at+1] = m.id, uint16(m.len)
	}
	s.regs[at], s.regs[at+1] = 0xFFFF, 0 // end marker
	return s, nil
}

// modelLen is each served model's L, from the SunSpec definitions.
var modelLen = map[uint16]int{
	modelCommon: 66, modelNameplate: 26, modelInverter: 50, modelControls: 24,
	modelStorage: 24, modelBattery: 62, modelDERControls: 65, modelMeter: 105,
	modelMPPT: lenMPPTFixed + mpptModules*lenMPPTModule,
}

// Listen binds addr (host:port) and starts answering requests; Run must
// follow. A port of 0 picks a free one, which Addr then reports. The
// modbus library binds its own listener and does not report its port, so
// Listen finds a free port with a listener of its own, releases it and has
// the library bind it, trying again on another port if someone took it in
// between.
func (s *Server) Listen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("sunspecserver: listen address %q: %w", addr, err)
	}
	tries := 1
	if port == "0" {
		tries = listenTries
	}
	for range tries {
		bind := addr
		if port == "0" {
			l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
			if err != nil {
				return fmt.Errorf("sunspecserver: listen on %s: %w", addr, err)
			}
			bind = l.Addr().String()
			l.Close()
		}
		ms, err := modbus.NewServer(&modbus.ServerConfiguration{
			URL:        "tcp://" + bind,
			Timeout:    idleTimeout,
			MaxClients: maxClients,
			Logger:     modbuslog.New(s.log),
		}, handler{s})
		if err != nil {
			return fmt.Errorf("sunspecserver: %w", err)
		}
		if err = ms.Start(); err == nil {
			s.ms, s.addr = ms, bind
			s.log.Info("sunspec server listening", "addr", bind, "base", s.cfg.Base, "unit", s.cfg.UnitID, "models", s.cfg.models(s.dev))
			return nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("sunspecserver: listen on %s: %w", bind, err)
		}
	}
	return fmt.Errorf("sunspecserver: no free port on %s after %d tries", host, tries)
}

// Writes returns how many write requests within its map the server has
// answered for its unit, accepted or refused: what a device counts
// against the writes its vendor allows.
func (s *Server) Writes() uint64 { return s.writes.Load() }

// Addr returns the address Listen bound.
func (s *Server) Addr() string { return s.addr }

// Run applies setpoint reversions and the fallback every tick until ctx
// ends, then stops the listener and its connections and returns ctx's
// cause. After Run returns, no request reaches the devices any more (the
// library's connection goroutines exit on their own as their sockets
// close). Run may be called once, after Listen.
func (s *Server) Run(ctx context.Context) error {
	if s.ms == nil {
		return errors.New("sunspecserver: Run before Listen")
	}
	if !s.ran.CompareAndSwap(false, true) {
		return errors.New("sunspecserver: Run called twice")
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.mu.Lock()
			s.stopped = true
			close(s.done)
			s.mu.Unlock()
			s.ms.Stop()
			return context.Cause(ctx)
		case <-t.C:
			s.mu.Lock()
			s.step(time.Now())
			s.mu.Unlock()
		}
	}
}

// Stall makes the server stop answering (true): requests are read and
// left unanswered, as by a hung device, until Stall(false) or Run ends.
func (s *Server) Stall(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case on && s.stall == nil:
		s.stall = make(chan struct{})
	case !on && s.stall != nil:
		close(s.stall)
		s.stall = nil
	}
}

// handler answers the library's requests; its methods run on the
// library's connection goroutines.
type handler struct{ s *Server }

func (handler) HandleCoils(*modbus.CoilsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}

func (handler) HandleDiscreteInputs(*modbus.DiscreteInputsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}

func (handler) HandleInputRegisters(*modbus.InputRegistersRequest) ([]uint16, error) {
	return nil, modbus.ErrIllegalFunction
}

// HandleHoldingRegisters reads or writes the map: a read renders the
// devices now; a write is checked whole, then applied and acted on.
func (h handler) HandleHoldingRegisters(req *modbus.HoldingRegistersRequest) ([]uint16, error) {
	s := h.s
	if req.UnitId != s.cfg.UnitID {
		return nil, modbus.ErrGWTargetFailedToRespond
	}
	s.mu.Lock()
	stall := s.stall
	s.mu.Unlock()
	if stall != nil {
		select {
		case <-stall:
		case <-s.done:
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil, modbus.ErrServerDeviceFailure
	}
	lo := int(req.Addr) - int(s.cfg.Base)
	hi := lo + int(req.Quantity)
	if lo < 0 || hi > len(s.regs) {
		return nil, modbus.ErrIllegalDataAddress
	}
	now := time.Now()
	if req.IsWrite {
		s.writes.Add(1)
		if err := s.write(lo, req.Args, now); err != nil {
			s.log.Debug("write refused", "addr", req.Addr, "n", req.Quantity, "err", err)
			return nil, err
		}
		s.step(now)
		return nil, nil
	}
	s.step(now)
	if err := s.render(); err != nil {
		s.log.Debug("device read failed", "err", err)
		return nil, modbus.ErrServerDeviceFailure
	}
	return slices.Clone(s.regs[lo:hi]), nil
}

// locate returns the model holding register index i and i's offset from
// the model's ID register; header registers are not in any model.
func (s *Server) locate(i int) (modelAt, int, bool) {
	for _, m := range s.chain {
		if i >= m.at+2 && i < m.at+2+m.len {
			return m, i - m.at, true
		}
	}
	return modelAt{}, 0, false
}

// model returns the served model id, if served.
func (s *Server) model(id uint16) (modelAt, bool) {
	for _, m := range s.chain {
		if m.id == id {
			return m, true
		}
	}
	return modelAt{}, false
}
