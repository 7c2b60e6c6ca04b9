package meshtest

import "github.com/gridmesh/gridmesh/mesh/memnet"

// MemNetwork is the in-memory network tests run homes on (memnet.Network).
type MemNetwork = memnet.Network

// NewMemNetwork returns an in-memory network with nothing listening.
func NewMemNetwork() *MemNetwork { return memnet.New() }
