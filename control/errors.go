package control

import "errors"

// Reasons Loop.Offer refuses a plan. Offer wraps them with the details;
// callers branch with errors.Is. A plan that fails Plan.Validate is
// refused with an error wrapping gridmesh.ErrInvalid instead.
var (
	// ErrStalePlan: the plan's epoch is not newer than the last plan
	// accepted (an older term, or an older or equal index in the same
	// term). Replays are refused this way, harmlessly.
	ErrStalePlan = errors.New("control: stale plan")
	// ErrExpiredPlan: the plan's lease ran out before it arrived.
	ErrExpiredPlan = errors.New("control: plan lease expired")
	// ErrWrongNeighborhood: the plan is for another neighborhood.
	ErrWrongNeighborhood = errors.New("control: plan for another neighborhood")
)
