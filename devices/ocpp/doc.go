// Package ocpp drives an EV charger over OCPP 1.6J: the home is the
// charger's central system, with github.com/lorenzodonini/ocpp-go.
//
// Listen opens the websocket listener (Config.Addr); Run serves it. The
// charger connects to ws://<addr>/<any path>/<ChargePointID>; another
// identity is refused. Charger is a devices.Charger and a
// devices.Releaser.
//
// # Reading
//
// The driver answers the charger's Core calls (BootNotification with the
// home's time and the heartbeat interval, Heartbeat, Authorize: every tag
// accepted, StartTransaction with an id, StopTransaction, StatusNotification,
// MeterValues, DataTransfer: UnknownVendorId) and reads from them:
// the connector's status says whether a car is plugged in (Preparing,
// Charging, SuspendedEV, SuspendedEVSE, Finishing) and whether it charges
// (Charging); MeterValues give the power (Power.Active.Import, or
// Current.Import times Phases times VoltageV) and the energy register,
// whose growth since the transaction's meterStart is what the session has
// delivered. OCPP 1.6 carries nothing of what the car wants: a session
// wants Config.SessionWh less what it has delivered. MinW and MaxW are
// MinCurrentA and MaxCurrentA in watts.
//
// # Steering
//
// SetChargePower holds a power (clamped to [MinW, MaxW], or 0) as a
// charging profile: a TxProfile for the running transaction, else a
// TxDefaultProfile, one relative period from 0, valid for
// Config.ProfileValidity and sent again at half of it. The unit is the
// charger's (its ChargingScheduleAllowedChargingRateUnit, asked after each
// boot): watts where it takes them, else amperes to the tenth, rounded
// down. A profile is sent when it moved beyond Config.DeadbandW (or
// starts or stops charging, or the transaction changed), at most once per
// Config.MinWriteInterval, never while one is unanswered (pacing.go).
// Release clears the driver's profiles (ClearChargingProfile of its stack
// level on the connector): the charger returns to its own default. Run
// releases the charger when its context ends, while the charger is still
// connected.
//
// # Failures
//
//   - Calls before BootNotification are answered and counted
//     (Stats.PreBootCalls); the charger is asked to boot
//     (TriggerMessage), and reads as waiting (devices.ErrWaiting) until it
//     has.
//   - A connection that carries nothing for Config.SilenceTimeout is dead
//     (a charger that lost its network without a word); a charger that
//     connects again replaces its old connection. Either way the charger
//     reads as waiting until it reports again on the new connection, the
//     profile is sent again, and Stats.Disconnects counts it.
//   - A profile not answered within Config.AnswerTimeout is counted
//     (Stats.Unanswered) and returned once, as a retryable
//     *gridmesh.DeviceError wrapping ErrUnanswered, by the next call to
//     Charger or SetChargePower, so the guard in front counts it against
//     its breaker; it is sent again after a backoff (internal/backoff,
//     Config.RetryMin to RetryMax).
//   - A refused profile is counted (Stats.ProfilesRejected) and sent again
//     after the same backoff.
//
// Package ocppsim is a charge point for tests (ocpp-go's charge point
// side in front of a simulated car).
package ocpp
