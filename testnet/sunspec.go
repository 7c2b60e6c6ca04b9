package testnet

import (
	"context"
	"errors"
	"fmt"

	"github.com/gridmesh/gridmesh/devices/sunspec"
	"github.com/gridmesh/gridmesh/devices/sunspec/sunspecserver"
	"github.com/gridmesh/gridmesh/node"
)

// sunspecDeps puts h's simulated devices behind a Go SunSpec server on
// 127.0.0.1:0 and returns the node's devices as the SunSpec driver sees
// them over Modbus TCP: the home runs as one with a real hybrid inverter
// would. The server and the driver's connection last until the city
// stops (an inverter outlives its gridmesh box; a killed home's devices
// are no longer metered anyway).
func (c *city) sunspecDeps(ctx context.Context, h *home) (node.Deps, error) {
	scfg := sunspecserver.SimConfig(h.params)
	ds := h.dev.Devices()
	srv, err := sunspecserver.New(scfg, sunspecserver.Devices{Battery: ds.Battery, Meter: ds.Meter, PV: ds.PV}, c.log)
	if err != nil {
		return node.Deps{}, fmt.Errorf("home %s: sunspec server: %w", h.id, err)
	}
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		return node.Deps{}, fmt.Errorf("home %s: sunspec server: %w", h.id, err)
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- srv.Run(sctx) }()
	stop := func() {
		cancel()
		<-done // Run returns the context's cause: nothing to report
	}
	dcfg := sunspec.DefaultConfig()
	dcfg.Addr, dcfg.Device = srv.Addr(), string(h.id)+"-inverter"
	dcfg.RoundTripEfficiency = h.params.Battery.RoundTripEfficiency
	d, err := sunspec.Dial(ctx, dcfg, c.log)
	if err != nil {
		stop()
		return node.Deps{}, fmt.Errorf("home %s: sunspec driver: %w", h.id, err)
	}
	c.closers = append(c.closers, func() error { err := d.Close(); stop(); return err })
	b, okB := d.BatteryView()
	m, okM := d.MeterView()
	pv, okP := d.PVView()
	if !okB || !okM || !okP {
		return node.Deps{}, errors.Join(fmt.Errorf("home %s: the SunSpec server offers no battery, meter or PV (models %v)", h.id, d.Models()))
	}
	return node.Deps{Battery: b, Meter: m, PV: pv}, nil
}
