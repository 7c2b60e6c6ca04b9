// Package session keeps one MQTT client connected to a broker for as long
// as its context lasts, for the device driver (package mqtt) and the
// device simulator (package mqttsim) alike.
//
// It owns the paho client, the reconnect policy (capped exponential
// backoff with jitter) and the connection's tuned timeouts. Paho's own
// auto-reconnect is off: every connection is a fresh client with a clean
// session, so what a caller needs on a connection (subscriptions, a
// setpoint to send again) it sets up in its serve function, which Run
// calls once per connection.
//
// Callers must:
//   - pass a Config that package mqtt's Config.Validate accepted (Run
//     does not re-check the broker URL);
//   - return from serve when its context ends (the connection was lost or
//     Run's context ended), and not keep the *Conn past that return;
//   - keep message handlers short and non-blocking: paho calls them in
//     order on its one router goroutine, and a slow handler stalls every
//     message behind it.
package session
