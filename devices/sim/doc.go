// Package sim simulates the devices of one home: a battery with a backup
// reserve, a PV inverter under passing clouds, an EV charger and its car,
// a heat pump and the house it heats, a household load split into
// critical and non-critical parts, and the grid meter that sums them.
//
// It owns the physics, written as pure functions of elapsed time and of
// the clock: BatteryParams.Step, ChargerParams.Step and
// HeatPumpParams.Step integrate a device over an interval under a
// constant command; PVParams.PowerAt, LoadParams.PowerAt,
// ChargerParams.SessionAt and HeatPumpParams.OutdoorAt hold no state, so
// the same instant (and seed) always yields the same figures. Home wraps
// them into devices whose state evolves with a clock it is given,
// integrating lazily on every call; Home.Devices hands each device out as
// its own value, so a home may have any subset of them (FullHomeParams).
//
// Callers must:
//   - validate parameters (Validate, or NewHome/NewFullHome do it) before
//     trusting the pure functions with them: on invalid parameters they
//     stay finite but mean nothing;
//   - give Home a clock that does not run backwards; if it does, the Home
//     holds its state until the clock passes its last reading again;
//   - read and steer a Home through its devices' methods only. They match
//     the capability interfaces package control defines (Battery, Meter,
//     PV, Charger, HeatPump, Loads), which this package does not import.
//     Put only the non-nil fields of Devices into such interfaces.
//
// Powers follow the gridmesh load convention: positive battery power is
// charging, positive net power is import, PV production is non-negative,
// charger and heat pump powers are consumption. Commands a device refuses
// (a non-finite power) fail with a permanent *gridmesh.DeviceError; a
// simulated device never fails otherwise.
package sim
