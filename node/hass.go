package node

import (
	"context"
	"runtime/debug"
	"sync"

	"github.com/gridmesh/gridmesh/control"
	"github.com/gridmesh/gridmesh/node/hass"
)

// componentHass is the Home Assistant publisher, supervised beside the
// status endpoint: a broker that is away costs the home nothing else.
const componentHass = "hass"

// joulesPerKWh converts the energy totals for the people who read them:
// Home Assistant and the home's page read kWh.
const joulesPerKWh = 3.6e6

// hassHome is the node as the Home Assistant publisher sees it.
type hassHome struct{ n *Node }

var _ hass.Home = hassHome{}

// HassState is the home's state for Home Assistant, from Status and the
// energy totals.
func (h hassHome) HassState() hass.State {
	s := h.n.Status()
	e := h.n.energy.Totals()
	return hass.State{
		NetW: float64(s.NetW), BatteryW: float64(s.BatteryW), SoCPct: s.SoC * 100,
		Mode: s.Mode, Steering: s.Owner.Steering, Leader: s.IsLeader,
		GridImportKWh: e.GridImport / joulesPerKWh, GridExportKWh: e.GridExport / joulesPerKWh,
		BatteryChargeKWh: e.BatteryCharge / joulesPerKWh, BatteryDischargeKWh: e.BatteryDischarge / joulesPerKWh,
		PVProductionKWh: e.PVProduction / joulesPerKWh, LoadServedKWh: e.LoadServed / joulesPerKWh,
		LoadShedKWh: e.LoadShed / joulesPerKWh,
		ReservePct:  s.Owner.ReservePct, OptOutNext: s.Owner.OptOutNext, Paused: s.Owner.Paused,
	}
}

// ChangeOwnerSettings applies a command from Home Assistant as the owner
// API applies a PUT.
func (h hassHome) ChangeOwnerSettings(c control.OwnerChange) (control.OwnerSettings, error) {
	return h.n.ChangeOwnerSettings(c)
}

// startHass runs the Home Assistant publisher under wg until ctx ends,
// when Config.HomeAssistant is set; each failure (a broker away, a lost
// connection) is counted and retried with backoff (supervise).
func (n *Node) startHass(ctx context.Context, wg *sync.WaitGroup) error {
	if n.cfg.HomeAssistant == nil {
		return nil
	}
	p, err := hass.New(*n.cfg.HomeAssistant, hassHome{n}, hass.Info{Home: string(n.cfg.Home), SWVersion: buildVersion()}, n.log)
	if err != nil {
		return err
	}
	wg.Go(func() { n.supervise(ctx, componentHass, p.Run) })
	return nil
}

// buildVersion is the gridmesh module's version as built ("(devel)" for
// a build from a work tree).
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
