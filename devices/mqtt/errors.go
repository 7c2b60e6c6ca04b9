package mqtt

import "errors"

var (
	// ErrInvalidConfig is wrapped by every Config.Validate error.
	ErrInvalidConfig = errors.New("mqtt: invalid config")
	// ErrBadPayload is wrapped by every error that refuses a state
	// payload: not JSON, a wrong type, a missing field, out of range.
	ErrBadPayload = errors.New("mqtt: bad state payload")
	// ErrBadSetpoint is wrapped by the error a set method returns for a
	// setpoint it refuses (not finite); nothing is published.
	ErrBadSetpoint = errors.New("mqtt: bad setpoint")
	// ErrNoSetTopic is wrapped by the error a set method returns on a
	// device configured without a set topic (a read-only load meter).
	ErrNoSetTopic = errors.New("mqtt: no set topic configured")
)
