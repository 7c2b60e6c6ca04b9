// Package guard keeps a home's control loop from ever waiting on a
// device.
//
// A guard wraps one device capability (NewBattery, NewMeter, NewPV,
// NewCharger, NewHeatPump, NewLoads) and has the same method set, so it
// stands in for the driver wherever the driver was used. Its methods
// never touch the device: a reading method returns the newest reading
// the guard holds, and a command method records the command and returns.
// Run, in its own goroutine, does the device I/O: it reads the device
// every Config.Period and sends the newest command as soon as it is
// given, each call through a circuit breaker (sony/gobreaker) and bounded
// by Config.CallTimeout.
//
// What a caller sees:
//   - a reading, while the breaker is closed and the reading is no older
//     than Config.StaleAfter; otherwise an error wrapping
//     gridmesh.ErrUnavailable (a retryable *gridmesh.DeviceError), which
//     the caller should treat as the device being absent;
//   - commands are kept even while the device is unavailable, and the
//     newest is applied when it returns; after any failed call the guard
//     sends the newest command again once the device answers, since a
//     device that failed may have rebooted and lost it. A command equal
//     to the newest is not sent again. Non-finite powers are refused at
//     once (ErrNotFinite), and a reading with a non-finite figure counts
//     as a failed read (ErrBadReading);
//   - FailuresToOpen failed calls in a row open the breaker; for
//     OpenTimeout it sends nothing, then lets probes through, and
//     ProbesToClose successes in a row close it. A permanent
//     *gridmesh.DeviceError (the device answered, and refused) does not
//     count against the breaker, and a refused command is not retried;
//   - a device waiting for its first reading (an error wrapping
//     devices.ErrWaiting: an MQTT device that has not published yet) is
//     not failing: the call counts against nothing, State says Waiting,
//     and its first reading is handed out at the next poll;
//   - State reports the breaker, availability, counts and the last error,
//     for a status page.
//
// Callers must run Run (once) for as long as they use the guard; cancel
// its context to stop it. A device call that hangs holds one goroutine
// until it returns (the guard starts no other call meanwhile) and Run
// does not wait for it on return: drivers must bound their own I/O.
package guard
