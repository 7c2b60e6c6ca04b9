package lab

import (
	"testing"

	"github.com/gridmesh/gridmesh/node/homefile"
)

// Every file the lab writes is one a home accepts.
func TestHomeFileParses(t *testing.T) {
	for _, timing := range []string{"lan", "wan"} {
		s := homeSpec{
			Home: "h3", Neighborhood: "n1", Network: "lab-abc", Addr: "11.77.2.4",
			DataDir: "/tmp/x/h3", Timing: timing, TargetW: 600, Seed: 9,
			Bootstrap: []string{"/ip4/11.77.1.2/tcp/4001/p2p/12D3KooWGRYZDHBembyGJQqQ6WgLqJWYNjnECbZzKW2cRcJkQxn3"},
		}
		f, err := homefile.Parse([]byte(homeFile(s)))
		if err != nil {
			t.Fatalf("%s: %v\n%s", timing, err, homeFile(s))
		}
		if string(f.Home) != "h3" || f.HTTP != "11.77.2.4:8080" || len(f.Bootstrap) != 1 || f.Raft.Timing != timing {
			t.Errorf("parsed %+v", f)
		}
	}
}
