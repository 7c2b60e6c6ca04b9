// Package gridmesh is the shared vocabulary of a gridmesh virtual power
// plant: units, identifiers, device readings and the messages homes,
// neighborhoods and operators exchange (Telemetry, Plan, Target, Aggregate,
// the operator's signed Signal, a home's signed Membership). It holds no
// behaviour beyond small methods on those types (validation, signing and
// verification) and imports nothing but the standard library.
//
// Sign convention, used everywhere: power is counted as drawn from the
// home's bus (the load convention). Positive grid power is import,
// negative is export; positive battery power is charging, negative is
// discharging. PV production is the one exception and is reported as a
// non-negative production figure. A home's net import is therefore
//
//	NetW = LoadW - PVW + BatteryW
//
// The layers that use this vocabulary are drawn in package archtest,
// whose test enforces them: devices, control, mesh and consensus never
// import each other and meet only in package node, speaking through these
// types.
package gridmesh
