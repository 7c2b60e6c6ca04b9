package lab

import (
	"slices"
	"testing"
)

func TestPickNAT(t *testing.T) {
	nbOf := []int{0, 1, 0, 1, 0, 1, 0}
	for _, tc := range []struct {
		n    int
		want []int // homes behind NAT
	}{
		{0, nil},
		{1, []int{6}},             // n0's last
		{2, []int{5, 6}},          // then n1's last
		{3, []int{4, 5, 6}},       // then n0's last still public
		{5, []int{2, 3, 4, 5, 6}}, // all but each neighborhood's first
	} {
		nat, err := pickNAT(nbOf, 2, tc.n)
		if err != nil {
			t.Fatalf("%d: %v", tc.n, err)
		}
		var got []int
		for i, b := range nat {
			if b {
				got = append(got, i)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%d behind NAT: %v, want %v", tc.n, got, tc.want)
		}
	}
	if _, err := pickNAT(nbOf, 2, 6); err == nil {
		t.Error("6 of 7 homes in 2 neighborhoods behind NAT: accepted, though each keeps its first public")
	}
}

// Homes behind NAT are nobody's bootstrap peer: the next public home
// before stands in for one.
func TestBootstrapForSkipsNAT(t *testing.T) {
	nbOf := []int{0, 1, 0, 1, 0, 1, 0, 1}
	nat := []bool{false, false, false, false, true, false, false, true}
	for home, want := range map[int][]int{
		6: {0, 2, 1}, // n0's first, the public one before (4 is behind NAT), n1's first
		4: {0, 2, 1}, // behind NAT itself: dials out to public homes, its relays
		7: {1, 5, 0},
	} {
		if got := bootstrapFor(home, nbOf, 2, nat); !slices.Equal(got, want) {
			t.Errorf("home %d: %v, want %v", home, got, want)
		}
	}
}
