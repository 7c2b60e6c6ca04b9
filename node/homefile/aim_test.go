package homefile_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gridmesh/gridmesh/node/homefile"
)

// target_w is also where the home aims before its first plan; without
// it the home self-consumes.
func TestTargetIsTheInitialAim(t *testing.T) {
	without := strings.Replace(good, "target_w: 1.5 kW\n", "", 1)
	for _, tc := range []struct {
		file string
		want float64
	}{{good, 1500}, {without, 0}} {
		f, err := homefile.Parse([]byte(tc.file))
		if err != nil {
			t.Fatal(err)
		}
		h, err := homefile.Build(context.Background(), f, "12D3KooWself", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := float64(h.Config.InitialAimW); got != tc.want {
			t.Errorf("initial aim %v, want %v", got, tc.want)
		}
	}
}
