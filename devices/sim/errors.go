package sim

import "errors"

// ErrInvalidParams is wrapped by every parameter validation error.
var ErrInvalidParams = errors.New("sim: invalid parameters")
