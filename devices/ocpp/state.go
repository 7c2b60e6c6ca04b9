package ocpp

import (
	"fmt"

	"github.com/gridmesh/gridmesh"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"
)

// station is what the charger has told the home: pure, changed only by
// the events below, one per OCPP message or connection event.
type station struct {
	connected bool
	booted    bool // it sent BootNotification to this process (a reconnect does not undo it)
	reported  bool // it reported its connector (status or meter) on this connection
	status    core.ChargePointStatus
	hasStatus bool
	meter     sample // the newest of the connector's MeterValues
	txID      int    // the running transaction; 0: none
	startWh   float64
}

// connect is a new connection: the charger is waiting until it reports.
func (s station) connect() station { s.connected, s.reported = true, false; return s }

// disconnect is the connection's end: waiting until it reports again.
func (s station) disconnect() station { s.connected, s.reported = false, false; return s }

// boot is an accepted BootNotification.
func (s station) boot() station { s.booted = true; return s }

// statusOf takes the connector's StatusNotification.
func (s station) statusOf(st core.ChargePointStatus) station {
	s.status, s.hasStatus, s.reported = st, true, true
	if !plugOf(st).plugged {
		s.meter.powerW = 0
	}
	return s
}

// meterOf takes the connector's MeterValues, decoded; a sample without
// a figure keeps the one before.
func (s station) meterOf(m sample) station {
	s.reported = true
	if m.hasPower {
		s.meter.powerW, s.meter.hasPower = m.powerW, true
	}
	if m.hasEnergy {
		s.meter.energyWh, s.meter.hasEnergy = m.energyWh, true
	}
	return s
}

// start takes StartTransaction on the connector: transaction id, with
// the meter at startWh.
func (s station) start(id int, startWh float64) station {
	s.txID, s.startWh = id, startWh
	if !s.meter.hasEnergy {
		s.meter.energyWh, s.meter.hasEnergy = startWh, true
	}
	return s
}

// stop takes StopTransaction of id; another transaction's stop changes
// nothing.
func (s station) stop(id int) station {
	if s.txID == id {
		s.txID = 0
		s.meter.powerW = 0
	}
	return s
}

// waiting says why the charger has no reading yet, or "" once it has one.
func (s station) waiting() string {
	switch {
	case !s.connected:
		return "charger not connected"
	case !s.booted:
		return "charger connected, not booted (no BootNotification)"
	case !s.reported || !s.hasStatus:
		return "charger has not reported its connector yet"
	}
	return ""
}

// reading is the charger as the control loop sees it: plugged in while
// the connector's status says a car is there; the metered power while it
// says Charging, else 0; the energy the session still wants is SessionWh
// less what the running transaction has delivered.
func (s station) reading(cfg Config) gridmesh.ChargerState {
	minW, maxW := cfg.limits()
	r := gridmesh.ChargerState{MinW: minW, MaxW: maxW}
	p := plugOf(s.status)
	if !p.plugged {
		return r
	}
	r.Connected = true
	if p.charging {
		r.PowerW = s.meter.powerW
	}
	delivered := 0.0
	if s.txID != 0 && s.meter.hasEnergy {
		delivered = max(s.meter.energyWh-s.startWh, 0)
	}
	r.WantedWh = max(cfg.SessionWh-gridmesh.Wh(delivered), 0)
	return r
}

// String is for logs.
func (s station) String() string {
	return fmt.Sprintf("connected=%v booted=%v status=%s tx=%d power=%vW", s.connected, s.booted, s.status, s.txID, float64(s.meter.powerW))
}
