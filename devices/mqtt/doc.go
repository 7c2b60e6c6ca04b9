// Package mqtt is the driver for devices reached through an MQTT broker:
// a battery, grid meter, PV inverter, EV charger, heat pump or household
// load that publishes its state as a JSON object on one topic and takes
// setpoints on another (directly, or through a gateway such as a home
// automation bridge).
//
// It owns the connection to the broker (github.com/eclipse/paho.mqtt.golang
// with a clean session per connection, reconnected with capped
// exponential backoff and jitter), the decoding of state payloads, and
// the rendering and sending of setpoints. It does not know package
// control: a Device's adapter for its kind (AsBattery, AsMeter, AsPV,
// AsCharger, AsHeatPump, AsLoads) has exactly the methods of control's
// interface for that kind.
//
// # Payloads
//
// A device publishes its state as a JSON document on Config.StateTopic,
// or figure by figure on topics of their own, or both. Config.Fields maps
// each figure of the reading to where it is read: a JSON key or a path
// into nested objects and arrays ("ENERGY.Power",
// "inverter.0.AC.0.Power.v"), a jq expression ("jq:.ENERGY.Power | add",
// github.com/itchyny/gojq, compiled once by Validate), a topic of its own
// whose payload is a plain value ("topic:solar/114/0/power") or a JSON
// document read by path or jq after a '#'
// ("topic:N/x/system/0/Dc/Battery/Soc#value"), or a constant the device
// does not publish ("const:10000"). DefaultConfig maps the figures to the
// keys below (logical name: default key, * required). Keys not mapped are
// ignored, since real devices send more than the driver reads. A number
// may be a JSON number or a string holding one ("123.4"); a flag true or
// false, "ON"/"OFF", "true"/"false" (any case) or 1/0; a JSON null is no
// value. Every figure must lie in its range; a payload that breaks a
// rule, or lacks a required figure its topic carries, is refused whole,
// counted in Stats.DecodeErrors, and changes nothing. The reading is
// whole once every required figure has arrived (before that the device
// is waiting); its age is that of its oldest required figure, and an
// optional figure older than StaleAfter is left out.
//
// Presets (ApplyPreset) lay a device out as widely used open firmware
// publishes: tasmota and shelly-em1 meters, opendtu microinverters,
// victron (Venus OS) batteries. A victron battery is steered through the
// ESS grid setpoint: SetpointData.GridW, the grid power at which the
// battery delivers the power asked for, rendered again on every reading.
//
//	battery  power*: power_w (positive: charging), soc*: soc (0..1, or 0..100
//	         with SoCPercent), min*: min_w (≤ 0), max*: max_w (≥ 0),
//	         capacity*: capacity_wh, charge: charge_wh and discharge:
//	         discharge_wh (the energy it can still take in and give out;
//	         absent: the capacity's shares above and below the SoC),
//	         grid: unmapped (the grid power of a system steered through
//	         its grid setpoint)
//	meter    net*: net_w (positive: import), voltage: voltage_v,
//	         frequency: frequency_hz, grid_ok: grid_ok (absent: true)
//	pv       power*: power_w, available: available_w (absent: power),
//	         limit: limit_w (absent: peak), peak*: peak_w
//	charger  connected*: connected, power*: power_w, min*: min_w,
//	         max*: max_w, wanted: wanted_wh, departure: departure_ms
//	         (integer Unix ms)
//	heatpump power*: power_w, max*: max_w, indoor*: indoor_c,
//	         outdoor*: outdoor_c, band_low*: band_low_c, band_high*: band_high_c
//	loads    critical*: critical_w, noncritical*: noncritical_w, shed*: shed
//
// A setpoint's power is rounded to Config.ResolutionW (default 1 W) and
// rendered as a short decimal (never float noise such as
// -865.1999999999999). It is rendered by Config.SetTemplate from a
// SetpointData and
// published, not retained (a device that restarts days later must not
// act on an old command). The defaults are {"power_w": P} for a battery,
// charger and heat pump, {"limit_w": P} for a PV inverter and
// {"shed": true|false} for loads.
//
// # Availability and setpoints
//
// Reading methods never wait on the network. They return the newest state
// that decoded, or a retryable *gridmesh.DeviceError wrapping
// gridmesh.ErrUnavailable when the driver is not connected to the broker,
// has received no state yet, or the newest is older than
// Config.StaleAfter. Before the device's first state the error also wraps
// devices.ErrWaiting: a device that publishes once a second has said
// nothing for up to a second after the driver connects, which is no
// failure (a guard keeps its breaker closed and reports it as waiting). Staleness counts from when a state arrived: a
// retained state the broker hands over on subscribing counts as fresh for
// one StaleAfter, then the device must publish again.
//
// Set methods never wait either. A non-finite setpoint is refused with a
// permanent error wrapping ErrBadSetpoint and never published; a finite
// one is clamped to ±gridmesh.MaxHomePowerW (0 and up except for a
// battery), remembered, and published in the background: a nil error
// means the setpoint was accepted, not that it arrived (whether the
// device is reachable is what the readings say). The last
// setpoint is published again on every connection and whenever the
// device's state reappears (first state on a connection, or after a
// stale gap), since the device may have restarted or subscribed after the
// driver published; a setpoint identical to the one already published on
// the connection is not sent again. A setpoint made while disconnected
// is published once connected.
//
// # Letting go
//
// Release (on the Device and on every adapter that takes setpoints) drops
// the setpoint held, so nothing more is sent, and publishes
// Config.ReleasePayload on the set topic when it is set: on Run's
// connection, or on a connection of its own when Run has none (a node
// releases its devices after they stopped). Config.WillPayload, when set,
// is registered as the connection's last will on the set topic: the
// broker publishes it when the connection dies without a DISCONNECT (the
// node killed, its host gone), so the device hears the node die. A clean
// stop discards the will; a stopping node releases instead.
//
// # Callers must
//
//   - validate the config (New does) and call Run once, with a context
//     that ends when the device is no longer needed; nothing is received
//     or sent without Run;
//   - give every device its own topics (wildcards are refused) and a
//     client ID unique at the broker (leave ClientID empty for a random
//     one);
//   - treat an ErrUnavailable error as "device absent for now": keep safe
//     setpoints and read again next tick;
//   - make the device publish its state more often than StaleAfter.
package mqtt
