package lab

import (
	"fmt"
	"strings"
)

// homeSpec is what the lab writes into one home's file.
type homeSpec struct {
	Home, Neighborhood, Network string
	Addr                        string // the home's address in its namespace
	DataDir                     string
	Bootstrap                   []string
	Timing                      string // raft timing: lan or wan
	TargetW                     int
	Seed                        uint64
}

// homeFile renders a home file (the format of node/homefile; see
// examples/home-sim.yaml) for a simulated home that organizes itself
// with its neighbors: no configured voters, open admission.
func homeFile(s homeSpec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "home: %s\nneighborhood: %s\nnetwork: %s\n", s.Home, s.Neighborhood, s.Network)
	fmt.Fprintf(&b, "listen: [\"/ip4/%s/tcp/%d\"]\n", s.Addr, p2pPort)
	if len(s.Bootstrap) > 0 {
		b.WriteString("bootstrap:\n")
		for _, a := range s.Bootstrap {
			fmt.Fprintf(&b, "  - %q\n", a)
		}
	}
	fmt.Fprintf(&b, "data_dir: %q\nhttp: %s:%d\n", s.DataDir, s.Addr, statusPort)
	fmt.Fprintf(&b, "raft: {timing: %s}\ntarget_w: %d W\n", s.Timing, s.TargetW)
	// Open: the lab's homes sit in network namespaces only it reaches.
	b.WriteString("admission: {open: true}\n")
	fmt.Fprintf(&b, `devices:
  - name: house
    kinds: [battery, meter, pv, loads]
    driver: sim
    sim:
      seed: %d
      battery: {capacity: 13.5 kWh, max_charge: 5 kW, max_discharge: 5 kW, efficiency: 90%%, initial_soc: 60%%, reserve: 20%%}
      pv: {peak: 4 kW}
      load: {base: 400 W, evening_peak: 1.2 kW, critical: 40%%}
`, s.Seed)
	return b.String()
}
