package guard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices"
)

// Errors a guard records for a call it gave up on.
var (
	// ErrTimeout: the call ran past Config.CallTimeout.
	ErrTimeout = errors.New("guard: device call timed out")
	// ErrBusy: the previous call has not returned yet, so no other was
	// started.
	ErrBusy = errors.New("guard: previous device call still running")
)

// Guard keeps one device capability away from its caller's goroutine.
// Run polls the device through a circuit breaker and applies commands;
// the capability methods of the typed guards (Battery, Meter, …) only
// read and write the guard's own state, so they return at once whatever
// the device does. R is the device's reading, C its command (struct{}
// for a device that takes none).
type Guard[R any, C comparable] struct {
	kind    string
	cfg     Config
	log     *slog.Logger
	read    func() (R, error)
	valid   func(R) error // refuses a reading (non-finite figures); nil: none
	apply   func(C) error // nil: the device takes no commands
	check   func(C) error // refuses a command before it is recorded; nil: none
	cb      *gobreaker.CircuitBreaker[struct{}]
	wake    chan struct{} // a new command; size 1, a pending wake-up is enough
	running atomic.Bool
	// inline: the device is devices.InMemory, called on Run's goroutine
	// (set by the constructor, read-only after).
	inline bool
	// spawn runs a device call in a goroutine of its own: go f(). Tests
	// replace it to start calls late, as a machine short of CPU does.
	spawn func(f func())

	// busy is closed when the call the guard last gave up on returns; nil
	// when none is outstanding. Owned by Run's goroutine.
	busy chan struct{}

	// mu guards the fields below, written by Run's goroutine (readings,
	// outcomes) and by command (the newest command). Never held while
	// calling the breaker: its state-change callback runs under its own
	// lock.
	mu          sync.Mutex
	reading     R
	readAt      time.Time // when the call that read it started; zero until the first
	appliedAt   time.Time // when the device last took a command (the call returned)
	cmd         C
	hasCmd      bool
	cmdSeq      uint64 // bumped by every new command
	appliedSeq  uint64 // cmdSeq the device last took; 0 forces a re-apply
	lastErr     error
	waitingFor  error // the device's devices.ErrWaiting error while it waits for its first reading; nil after
	lastSuccess time.Time
	consecutive uint32
	successes   uint64
	failures    uint64
	rejected    uint64
	waits       uint64
}

// newGuard validates cfg and builds a guard; it starts nothing.
func newGuard[R any, C comparable](kind string, cfg Config, log *slog.Logger, read func() (R, error), valid func(R) error, apply, check func(C) error) (*Guard[R, C], error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	g := &Guard[R, C]{
		kind:  kind,
		cfg:   cfg,
		log:   log.With("component", "guard", "device", kind),
		read:  read,
		valid: valid,
		apply: apply,
		check: check,
		wake:  make(chan struct{}, 1),
		spawn: func(f func()) { go f() },
	}
	g.cb = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        kind,
		MaxRequests: cfg.ProbesToClose,
		Timeout:     cfg.OpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= cfg.FailuresToOpen },
		IsExcluded:  excluded,
		OnStateChange: func(_ string, from, to gobreaker.State) {
			lvl := slog.LevelInfo
			if to == gobreaker.StateOpen {
				lvl = slog.LevelWarn
			}
			g.log.Log(context.Background(), lvl, "device breaker", "from", from.String(), "to", to.String())
		},
	})
	return g, nil
}

// excluded reports errors that say nothing about whether the device is
// there: the guard's own stop, a permanent refusal (the device answered,
// and said no), and a device waiting for its first reading
// (devices.ErrWaiting: silence before the start is no failure).
func excluded(err error) bool {
	var de *gridmesh.DeviceError
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, devices.ErrWaiting) || errors.As(err, &de) && !de.Retryable
}

// Run polls the device every Period and applies the newest command as
// soon as it is given (and again after any failed call, once the device
// answers), until ctx ends; it returns ctx's error. Every device call
// goes through the breaker and runs in a goroutine of its own that Run
// waits on for at most CallTimeout. Run returns without waiting for a
// call that hangs: that goroutine ends when the device's call returns,
// and drivers must bound their own I/O so that it does. Run may be
// called once.
func (g *Guard[R, C]) Run(ctx context.Context) error {
	if !g.running.CompareAndSwap(false, true) {
		return fmt.Errorf("guard %s: Run called twice", g.kind)
	}
	ticker := time.NewTicker(g.cfg.Period)
	defer ticker.Stop()
	g.applyNewest(ctx)
	g.poll(ctx)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-g.wake:
			g.applyNewest(ctx)
		case <-ticker.C:
			g.applyNewest(ctx)
			g.poll(ctx)
		}
	}
}

// poll reads the device once and keeps the reading. A reading that fails
// valid counts as a failed call: a device that answers nonsense is as
// unusable as one that does not answer.
func (g *Guard[R, C]) poll(ctx context.Context) {
	r, began, err := do(ctx, g, "read", func() (R, error) {
		r, err := g.read()
		if err == nil && g.valid != nil {
			if verr := g.valid(r); verr != nil {
				return r, g.deviceErr("read", true, verr)
			}
		}
		return r, err
	})
	if err == nil {
		g.mu.Lock()
		g.reading, g.readAt = r, began
		g.mu.Unlock()
	}
}

// applyNewest sends the newest command if the device has not taken it.
// A permanent refusal is not retried; any other failure is, next time.
func (g *Guard[R, C]) applyNewest(ctx context.Context) {
	if g.apply == nil {
		return
	}
	g.mu.Lock()
	cmd, seq, pending := g.cmd, g.cmdSeq, g.hasCmd && g.appliedSeq != g.cmdSeq
	g.mu.Unlock()
	if !pending {
		return
	}
	_, _, err := do(ctx, g, "apply", func() (struct{}, error) { return struct{}{}, g.apply(cmd) })
	var de *gridmesh.DeviceError
	if err == nil || errors.As(err, &de) && !de.Retryable {
		g.mu.Lock()
		g.appliedSeq = max(g.appliedSeq, seq)
		if err == nil {
			g.appliedAt = time.Now()
		}
		g.mu.Unlock()
	}
}

// do makes one device call through the breaker, waiting at most
// CallTimeout of the call's own time (awaitCall), and records its
// outcome. It returns when the call began running. Only Run's goroutine
// calls it.
func do[R any, C comparable, T any](ctx context.Context, g *Guard[R, C], op string, f func() (T, error)) (T, time.Time, error) {
	var out callResult[T]
	_, err := g.cb.Execute(func() (struct{}, error) {
		if g.inline { // returns at once: nothing to time out
			began := time.Now()
			v, err := f()
			out = callResult[T]{v: v, err: err, began: began}
			return struct{}{}, err
		}
		if g.busy != nil {
			select {
			case <-g.busy:
				g.busy = nil
			default:
				return struct{}{}, g.deviceErr(op, true, ErrBusy)
			}
		}
		done := make(chan callResult[T], 1) // the call never blocks on sending
		finished := make(chan struct{})
		var began atomic.Int64 // when f began, Unix ns; 0 before
		g.spawn(func() {
			defer close(finished)
			began.Store(time.Now().UnixNano())
			v, err := f()
			done <- callResult[T]{v: v, err: err, began: time.Unix(0, began.Load())}
		})
		var err error
		out, err = awaitCall(ctx, g.cfg.CallTimeout, &began, done)
		switch {
		case err == nil:
			return struct{}{}, out.err
		case ctx.Err() != nil:
			g.busy = finished
			return struct{}{}, ctx.Err()
		default:
			g.busy = finished
			return struct{}{}, g.deviceErr(op, true, err)
		}
	})
	g.record(err)
	return out.v, out.began, err
}

// callResult is what one device call returned, and when it began.
type callResult[T any] struct {
	v     T
	err   error
	began time.Time
}

// awaitCall waits for a device call's answer on done, or ErrTimeout once
// the call has run for timeout, or ctx's error. The timeout counts from
// when the call began (began, Unix ns, set by the call's goroutine), not
// from when its goroutine was started: on a machine short of CPU that
// goroutine may wait its turn for longer than the timeout, and that says
// nothing of the device; until it begins, the wait starts over. An answer
// that is in when the timer fires wins over the timer: a device that
// answered late is late, not gone.
func awaitCall[T any](ctx context.Context, timeout time.Duration, began *atomic.Int64, done <-chan callResult[T]) (callResult[T], error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case r := <-done:
			return r, nil
		case <-ctx.Done():
			return callResult[T]{}, ctx.Err()
		case <-timer.C:
		}
		select {
		case r := <-done:
			return r, nil
		default:
		}
		left := timeout // not begun yet: the machine's delay, not the device's
		if b := began.Load(); b != 0 {
			left = timeout - time.Since(time.Unix(0, b))
		}
		if left <= 0 {
			return callResult[T]{}, ErrTimeout
		}
		timer.Reset(left)
	}
}

// record counts a call's outcome.
func (g *Guard[R, C]) record(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case err == nil:
		g.successes++
		g.consecutive = 0
		g.lastSuccess = time.Now()
		g.waitingFor = nil
	case errors.Is(err, devices.ErrWaiting):
		g.waits++
		g.waitingFor = err
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		g.rejected++
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
	case excluded(err):
		g.failures++
		g.lastErr = err
	default:
		g.failures++
		g.consecutive++
		g.lastErr = err
		g.appliedSeq = 0 // the device may have lost its setpoint: send it again
	}
}

// get returns the newest reading; see Read.
func (g *Guard[R, C]) get(op string) (R, error) {
	r, _, err := g.read1(op)
	return r, err
}

// Read returns the newest reading and when it was taken (when the call
// that read it started: the reading shows every command the device took
// before then) if the breaker is closed and the reading is no older than
// StaleAfter, else an error wrapping gridmesh.ErrUnavailable. It never
// blocks on the device.
func (g *Guard[R, C]) Read() (R, time.Time, error) { return g.read1("read") }

func (g *Guard[R, C]) read1(op string) (R, time.Time, error) {
	st := g.cb.State()
	g.mu.Lock()
	defer g.mu.Unlock()
	var zero R
	switch {
	case st != gobreaker.StateClosed:
		return zero, time.Time{}, g.unavailable(op, fmt.Sprintf("breaker %s", st))
	case g.readAt.IsZero() && g.waitingFor != nil:
		return zero, time.Time{}, g.deviceErr(op, true, fmt.Errorf("%w: %w", gridmesh.ErrUnavailable, g.waitingFor))
	case g.readAt.IsZero():
		return zero, time.Time{}, g.unavailable(op, "no reading yet")
	}
	if age := time.Since(g.readAt); age > g.cfg.StaleAfter {
		return zero, time.Time{}, g.unavailable(op, fmt.Sprintf("reading %v old", age.Round(time.Millisecond)))
	}
	return g.reading, g.readAt, nil
}

// AppliedAt returns when the device last took a command (when the call
// returned); zero before the first.
func (g *Guard[R, C]) AppliedAt() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.appliedAt
}

// set records c as the newest command and wakes Run to apply it. It never
// blocks. A command check refuses is returned and not recorded. While the
// device is unavailable the command is kept, for when it returns, and an
// error wrapping gridmesh.ErrUnavailable says so.
func (g *Guard[R, C]) set(op string, c C) error {
	if g.check != nil {
		if err := g.check(c); err != nil {
			return g.deviceErr(op, false, err)
		}
	}
	st := g.cb.State()
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.hasCmd || c != g.cmd {
		g.cmd, g.hasCmd = c, true
		g.cmdSeq++
		select {
		case g.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
	if st != gobreaker.StateClosed {
		return g.unavailable(op, fmt.Sprintf("breaker %s; command kept for when it returns", st))
	}
	return nil
}

// unavailable builds the error for a device the guard will not hand out.
// The caller holds g.mu.
func (g *Guard[R, C]) unavailable(op, why string) error {
	if g.lastErr != nil {
		return g.deviceErr(op, true, fmt.Errorf("%w: %s (last error: %v)", gridmesh.ErrUnavailable, why, g.lastErr))
	}
	return g.deviceErr(op, true, fmt.Errorf("%w: %s", gridmesh.ErrUnavailable, why))
}

func (g *Guard[R, C]) deviceErr(op string, retryable bool, err error) error {
	return &gridmesh.DeviceError{Device: g.kind, Op: op, Retryable: retryable, Err: err}
}

// State is what a guard knows of its device, for a status page.
type State struct {
	// Kind names the capability: "battery", "meter", "pv", "charger",
	// "heat_pump", "loads".
	Kind string `json:"kind"`
	// Breaker is "closed", "half-open" or "open".
	Breaker string `json:"breaker"`
	// Available is true when the capability methods hand out readings:
	// the breaker is closed and the newest reading fresh.
	Available bool `json:"available"`
	// ReadAt is when the newest reading was taken; zero before the first.
	ReadAt time.Time `json:"read_at,omitzero"`
	// LastSuccess is when a device call last succeeded.
	LastSuccess time.Time `json:"last_success,omitzero"`
	// LastError is the newest failed call's error.
	LastError string `json:"last_error,omitempty"`
	// ConsecutiveFailures counts failed calls since the last success.
	ConsecutiveFailures uint32 `json:"consecutive_failures"`
	// Successes and Failures count device calls by outcome; Rejected
	// counts calls the breaker refused without calling the device.
	Successes uint64 `json:"successes"`
	Failures  uint64 `json:"failures"`
	Rejected  uint64 `json:"rejected"`
	// CommandPending is true while the newest command has not reached the
	// device.
	CommandPending bool `json:"command_pending"`
	// Waiting is true while the device has not given its first reading
	// and says it is waiting for it (devices.ErrWaiting: an MQTT device
	// that has not published yet), not failing; WaitingFor says why.
	Waiting    bool   `json:"waiting"`
	WaitingFor string `json:"waiting_for,omitempty"`
	// Waits counts calls that found the device waiting; they count as
	// neither successes nor failures.
	Waits uint64 `json:"waits"`
}

// State reports the breaker and the counters now.
func (g *Guard[R, C]) State() State {
	st := g.cb.State()
	g.mu.Lock()
	defer g.mu.Unlock()
	s := State{
		Kind:                g.kind,
		Breaker:             st.String(),
		Available:           st == gobreaker.StateClosed && !g.readAt.IsZero() && time.Since(g.readAt) <= g.cfg.StaleAfter,
		ReadAt:              g.readAt,
		LastSuccess:         g.lastSuccess,
		ConsecutiveFailures: g.consecutive,
		Successes:           g.successes,
		Failures:            g.failures,
		Rejected:            g.rejected,
		Waits:               g.waits,
		CommandPending:      g.hasCmd && g.appliedSeq != g.cmdSeq,
	}
	if g.lastErr != nil {
		s.LastError = g.lastErr.Error()
	}
	if g.waitingFor != nil {
		s.Waiting, s.WaitingFor = true, g.waitingFor.Error()
	}
	return s
}

// Kind names the capability the guard wraps.
func (g *Guard[R, C]) Kind() string { return g.kind }

// Last returns the newest reading whatever its age or the breaker's
// state, when it was taken, and whether there is one.
func (g *Guard[R, C]) Last() (R, time.Time, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.reading, g.readAt, !g.readAt.IsZero()
}

// Command returns the newest command given, whether or not the device
// has taken it, and whether one was given.
func (g *Guard[R, C]) Command() (C, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cmd, g.hasCmd
}
