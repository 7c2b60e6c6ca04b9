// Package ocppsim is a simulated OCPP 1.6J charge point for tests: the
// charge point side of github.com/lorenzodonini/ocpp-go
// (ocpp16.NewChargePoint) in front of a car (a devices.Charger, such as
// sim.Charger), over a real websocket to the home's central system.
//
// It behaves as a charger does: it boots (unless told not to, then only
// when triggered), reports its connector (Preparing when a car plugs in,
// Charging, SuspendedEVSE under a zero limit, SuspendedEV when the car
// takes nothing, Available once it leaves), starts a transaction when a
// car plugs in and stops it when it leaves, meters the car's power and the
// energy delivered every Period, and applies the charging profiles it
// receives to the car (a limit in amperes times Phases times VoltageV).
// It records every profile received, and can answer profiles slowly,
// never, or refuse them, for the driver's failure tests.
//
// Start connects it; Stop disconnects it (with a websocket close). Calls
// to the car happen on the charge point's goroutines.
package ocppsim
