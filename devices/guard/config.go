package guard

import (
	"errors"
	"fmt"
	"time"
)

// Config tunes a guard: how often it polls its device, when a call counts
// as hung, how old a reading may be, and its circuit breaker.
type Config struct {
	// Period is how often the guard reads the device and retries a
	// command the device has not taken yet.
	Period time.Duration
	// CallTimeout is how long one device call may run before the guard
	// counts it failed and stops waiting for it, counted from when the
	// call begins to run (a machine short of CPU may make it wait its
	// turn longer; that is not the device's time). Until that call
	// returns the guard starts no other: a hung device holds one
	// goroutine, never more.
	CallTimeout time.Duration
	// StaleAfter is how old the newest reading may be for the guard to
	// still hand it out; older, the device is unavailable.
	StaleAfter time.Duration
	// FailuresToOpen is how many failed calls in a row open the breaker.
	FailuresToOpen uint32
	// OpenTimeout is how long the open breaker leaves the device alone
	// before it lets probes through (half-open).
	OpenTimeout time.Duration
	// ProbesToClose is how many calls in a row must succeed half-open to
	// close the breaker again; one failure opens it again.
	ProbesToClose uint32
}

// DefaultConfig returns timings for a device read by a 100 ms primary
// loop over a LAN (Modbus TCP, MQTT), where an answer takes milliseconds.
func DefaultConfig() Config {
	return Config{
		// One reading per loop tick: the loop never acts on a figure more
		// than a period older than its own.
		Period: 100 * time.Millisecond,
		// Ten loop periods. A LAN device answers in milliseconds and a
		// Modbus RTU gateway in a few hundred; one that takes a second is
		// hung, and the loop has long since stopped using it (StaleAfter).
		CallTimeout: time.Second,
		// Ten loop periods: a lost poll or two do not drop the device,
		// but past a second a kettle can have changed the load by 2 kW
		// and steering on the old figure does more harm than holding.
		StaleAfter: time.Second,
		// A dropped packet or one slow answer must not drop the device;
		// three failures in a row (0.3 s of polls, or a hung call and two
		// that find it still hung) are a device that is gone.
		FailuresToOpen: 3,
		// While open the guard sends nothing, so a rebooting inverter or
		// a struggling gateway is not hammered. Five seconds is short
		// next to a reboot (tens of seconds) and bounds how long a device
		// that came back waits to be used again.
		OpenTimeout: 5 * time.Second,
		// Half-open the first call is usually the re-applied command and
		// the second a read: both must work before the loop gets the
		// device back.
		ProbesToClose: 2,
	}
}

// Validate checks every field and the rules between them.
func (c Config) Validate() error {
	var errs []error
	for name, d := range map[string]time.Duration{
		"Period": c.Period, "CallTimeout": c.CallTimeout, "StaleAfter": c.StaleAfter, "OpenTimeout": c.OpenTimeout,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %v", name, d))
		}
	}
	if c.FailuresToOpen == 0 {
		errs = append(errs, errors.New("FailuresToOpen must be at least 1"))
	}
	if c.ProbesToClose == 0 {
		errs = append(errs, errors.New("ProbesToClose must be at least 1"))
	}
	if c.StaleAfter <= c.Period {
		errs = append(errs, fmt.Errorf("StaleAfter %v must exceed Period %v, or every reading is stale before the next poll", c.StaleAfter, c.Period))
	}
	if c.OpenTimeout < c.Period {
		errs = append(errs, fmt.Errorf("OpenTimeout %v must be at least Period %v: probes go out on polls", c.OpenTimeout, c.Period))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("guard: config: %w", err)
	}
	return nil
}
