package node

import "github.com/gridmesh/gridmesh"

// Hooks for the package's external tests: faults only a test can cause
// from outside a running home.

// BreakTopics closes the home's neighborhood topics under its running
// components, as a failed gossip layer would: the plan and telemetry
// receivers fail. It reports whether the network was up to break.
func BreakTopics(n *Node) bool {
	nw := n.up.Load()
	if nw == nil {
		return false
	}
	_ = nw.nbhd.Close() // the fault itself: an error closing is no matter
	return true
}

// CloseHTTPListener closes the status endpoint's listener under its
// server, as a failed socket would. It reports whether the endpoint was
// serving.
func CloseHTTPListener(n *Node) bool {
	ln := n.httpListener.Load()
	if ln == nil {
		return false
	}
	_ = (*ln).Close()
	return true
}

// Presented returns the certificate the home's network presents now, and
// whether its network is up with admission on.
func Presented(n *Node) (gridmesh.Membership, bool) {
	if n.up.Load() == nil || n.cfg.Mesh.Admission == nil {
		return gridmesh.Membership{}, false
	}
	return n.meshConfig().Admission.Own, true
}
