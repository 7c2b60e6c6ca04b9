package ocpp_test

import (
	"sync"

	"github.com/gridmesh/gridmesh"
)

// car is a car the test plugs in and out, at a charger of [minW, maxW]
// that charges at full power until given one.
type car struct {
	mu         sync.Mutex
	plugged    bool
	cmd        *gridmesh.W
	minW, maxW gridmesh.W
}

func newCar() *car { return &car{minW: 4140, maxW: 11040} }

func (c *car) plug(in bool) {
	c.mu.Lock()
	c.plugged = in
	c.mu.Unlock()
}

func (c *car) Charger() (gridmesh.ChargerState, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := gridmesh.ChargerState{MinW: c.minW, MaxW: c.maxW, Connected: c.plugged}
	if c.plugged {
		s.WantedWh = 20_000
		s.PowerW = c.maxW
		if c.cmd != nil {
			s.PowerW = min(max(*c.cmd, 0), c.maxW)
		}
	}
	return s, nil
}

func (c *car) SetChargePower(w gridmesh.W) error {
	c.mu.Lock()
	c.cmd = &w
	c.mu.Unlock()
	return nil
}
