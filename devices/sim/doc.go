// Package sim simulates the devices of one home: a battery, a PV array
// and a household load, and the grid meter that sums them.
//
// It owns the physics, written as pure functions of elapsed time:
// BatteryParams.Step integrates a battery over an interval under a
// constant command, PVParams.PowerAt and LoadParams.PowerAt give the power
// at an instant and hold no state, so the same instant always yields the
// same watts. Home wraps them into a device whose state evolves with a
// clock it is given, integrating lazily on every call.
//
// Callers must:
//   - validate parameters (HomeParams.Validate, or NewHome does it) before
//     trusting Step or PowerAt with them: on invalid parameters the pure
//     functions stay finite and non-negative but mean nothing;
//   - give Home a clock that does not run backwards; if it does, the Home
//     holds its state until the clock passes its last reading again;
//   - read and steer a Home through its methods only. They match the
//     capability interfaces package control defines (Battery, Meter),
//     which this package does not import.
//
// Powers follow the gridmesh load convention: positive battery power is
// charging, positive net power is import, PV production is non-negative.
package sim
