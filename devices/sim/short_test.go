package sim

import "testing"

// iterations is how many random cases a property test draws: full, or a
// quarter (at least one) under -short (make test-short), which checks the
// same properties on fewer draws.
func iterations(full int) int {
	if testing.Short() {
		return max(1, full/4)
	}
	return full
}
