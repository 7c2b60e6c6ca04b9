// Package devices is the device layer's shared ground: the capability
// method sets every driver, simulator, guard and test suite of this layer
// speaks. They are the same method sets as package control's interfaces,
// which the control loop owns; they are stated once more here because
// devices and control never import each other, and once is enough for
// the whole layer.
//
// Sub-packages: sim (physics), mqtt, sunspec and ocpp (drivers with
// their simulators), guard (circuit breaker and poller), devicetest (the
// conformance suite every driver passes).
package devices
