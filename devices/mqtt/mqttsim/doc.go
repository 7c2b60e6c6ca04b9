// Package mqttsim puts a simulated device behind an MQTT broker, so that
// the MQTT driver (package mqtt) can be run end to end without hardware:
// in tests, in a testnet, or on a developer's laptop next to mosquitto.
//
// A Sim wraps any value with a capability's method set (a *sim.Home is a
// Battery and a Meter; the interfaces here repeat package control's,
// which devices cannot import). It publishes the device's state every
// Config.Period as the JSON object the driver's config describes (the
// same Fields, SoCPercent and topics), and applies the setpoints it
// receives on the set topic to the device, whose physics then answer.
//
// It owns its own connection (a separate client ID) and reconnects like
// the driver. It reads setpoints from a JSON object's Config.SetField key,
// which matches the driver's default SetTemplate for the kind; a driver
// with another template needs a SetField to match.
//
// Callers must validate the config (the constructors do), call Run once
// with a context that ends when the simulated device should go silent,
// and use the constructor of the device's kind (NewBattery for a battery,
// …). A device whose reading fails is not published that period: to the
// driver it looks silent, and goes stale.
package mqttsim
