package ocpp

import (
	"math"
	"strings"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/core"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/types"
)

// electrical converts between a current per phase and a power.
type electrical struct {
	phases   int
	voltageV float64
}

// watts is the power of a per-phase current.
func (e electrical) watts(a float64) gridmesh.W {
	return gridmesh.W(a * float64(e.phases) * e.voltageV)
}

// amps is the per-phase current of a power.
func (e electrical) amps(w gridmesh.W) float64 {
	return float64(w) / (float64(e.phases) * e.voltageV)
}

// rateUnit is the unit a charger takes its charging limits in.
type rateUnit = types.ChargingRateUnitType

// unitOf picks the unit for a charger's ChargingScheduleAllowedChargingRateUnit
// (a comma-separated list of "Current" and "Power"): watts where it takes
// them, as a power needs no conversion; else amperes, which every charger
// takes (and which an empty or unknown value is taken to mean).
func unitOf(allowed string) rateUnit {
	for _, u := range strings.Split(allowed, ",") {
		if strings.EqualFold(strings.TrimSpace(u), "Power") {
			return types.ChargingRateUnitWatts
		}
	}
	return types.ChargingRateUnitAmperes
}

// clamp is the power a command w asks of a charger of [minW, maxW]:
// off for w <= 0, else within the range.
func clamp(w, minW, maxW gridmesh.W) gridmesh.W {
	if w <= 0 {
		return 0
	}
	return min(max(w, minW), maxW)
}

// limitOf is the profile limit for power w in unit u: watts to the
// watt, amperes to the tenth (OCPP 1.6 takes at most one decimal),
// rounded down so the charger never exceeds w by rounding.
func limitOf(w gridmesh.W, u rateUnit, e electrical) float64 {
	if u == types.ChargingRateUnitWatts {
		return math.Floor(float64(w))
	}
	return math.Floor(e.amps(w)*10+1e-9) / 10
}

// plugState is what a connector's status says of the car.
type plugState struct {
	plugged  bool // a car is at the connector
	charging bool // energy flows to it
	known    bool // the status is one of OCPP 1.6's
}

// plugOf maps a connector's StatusNotification status. Preparing (a car
// plugged, no energy yet), SuspendedEV (the car takes none),
// SuspendedEVSE (the charger, or our profile, gives none) and Finishing
// (the session ended, the cable still in) are a car plugged in;
// Available, Reserved, Unavailable and Faulted are none that can charge.
func plugOf(s core.ChargePointStatus) plugState {
	switch s {
	case core.ChargePointStatusCharging:
		return plugState{plugged: true, charging: true, known: true}
	case core.ChargePointStatusPreparing, core.ChargePointStatusSuspendedEV,
		core.ChargePointStatusSuspendedEVSE, core.ChargePointStatusFinishing:
		return plugState{plugged: true, known: true}
	case core.ChargePointStatusAvailable, core.ChargePointStatusReserved,
		core.ChargePointStatusUnavailable, core.ChargePointStatusFaulted:
		return plugState{known: true}
	}
	return plugState{}
}

// Profile identities: one profile of each purpose, replaced in place
// (OCPP 1.6 replaces a profile of the same id), all at one stack level,
// so that ClearChargingProfile on that level removes every one of ours.
const (
	defaultProfileID = 4701
	txProfileID      = 4702
	// stackLevel: above a charger's factory default (0), below what an
	// owner's own backend would set for a firmware-level limit.
	stackLevel = 1
)

// profileSpec is a charging profile as the driver decides it.
type profileSpec struct {
	txID    int // the transaction it is for; 0: TxDefaultProfile
	unit    rateUnit
	limit   float64   // in unit
	phases  int       // the phases the limit is for
	validTo time.Time // when the charger drops it
}

// specFor is the profile holding power w: a TxProfile for the running
// transaction txID, else a TxDefaultProfile (every next transaction).
func specFor(w gridmesh.W, txID int, u rateUnit, e electrical, validTo time.Time) profileSpec {
	return profileSpec{txID: txID, unit: u, limit: limitOf(w, u, e), phases: e.phases, validTo: validTo}
}

// same reports whether two specs set the same limit the same way (their
// validity aside).
func (p profileSpec) same(q profileSpec) bool {
	return p.txID == q.txID && p.unit == q.unit && p.limit == q.limit && p.phases == q.phases
}

// profile is the OCPP charging profile of p: one period from the start of
// the schedule (relative: it holds whenever it is applied), valid until
// p.validTo.
func (p profileSpec) profile() *types.ChargingProfile {
	purpose, id := types.ChargingProfilePurposeTxDefaultProfile, defaultProfileID
	if p.txID != 0 {
		purpose, id = types.ChargingProfilePurposeTxProfile, txProfileID
	}
	period := types.NewChargingSchedulePeriod(0, p.limit)
	phases := p.phases
	period.NumberPhases = &phases
	prof := types.NewChargingProfile(id, stackLevel, purpose, types.ChargingProfileKindRelative,
		types.NewChargingSchedule(p.unit, period))
	prof.TransactionId = p.txID
	prof.ValidTo = types.NewDateTime(p.validTo)
	return prof
}
