package node

import "testing"

// A home publishes every report on the topic for a while only when a
// peer from outside its cluster connects: not on its first look, not for
// a peer it already had, not for its leader or a member of its
// configuration coming back.
func TestNewNeighborOutsideTheCluster(t *testing.T) {
	ours := func(p string) bool { return p == "leader" || p == "voter" }
	before := map[string]bool{"a": true}
	for _, tc := range []struct {
		name   string
		before map[string]bool
		now    []string
		want   bool
	}{
		{"first look", nil, []string{"a", "stranger"}, false},
		{"nothing new", before, []string{"a"}, false},
		{"a peer left", before, nil, false},
		{"the leader dials", before, []string{"a", "leader"}, false},
		{"a member comes back", before, []string{"voter", "a"}, false},
		{"a stranger", before, []string{"a", "leader", "stranger"}, true},
	} {
		if got := newNeighbor(tc.before, tc.now, ours); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
