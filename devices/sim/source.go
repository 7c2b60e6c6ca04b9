package sim

import (
	"time"

	"github.com/gridmesh/gridmesh"
)

// PowerSource gives a power at every instant: a load or PV profile that
// replaces a model's own shape (LoadParams.Source, PVParams.Source). It
// must be a pure function of t, safe for concurrent use.
type PowerSource interface {
	PowerAt(t time.Time) gridmesh.W
}

// sourced reads s at t and keeps it within [0, maxW]; a non-finite
// figure counts as 0.
func sourced(s PowerSource, t time.Time, maxW gridmesh.W) gridmesh.W {
	w := s.PowerAt(t)
	if !w.Finite() || w < 0 {
		return 0
	}
	return min(w, maxW)
}
