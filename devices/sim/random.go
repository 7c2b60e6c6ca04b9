package sim

import (
	"math/rand/v2"

	"github.com/gridmesh/gridmesh"
)

// Ranges RandomHome draws from, typical of a European home with a
// residential battery and rooftop PV in early summer.
const (
	// Residential batteries hold 10-13.5 kWh (13.5 kWh is the largest
	// common single unit) and move 5 kW, a common inverter rating.
	randCapacityMinWh, randCapacitySpanWh gridmesh.Wh = 10_000, 3_500
	randBatteryW                          gridmesh.W  = 5_000
	// 90 % round trip is what lithium home batteries reach, inverter
	// included.
	randEfficiency = 0.9
	// Homes start between 40 % and 80 % charged, so some can give and
	// some can take from the first tick.
	randSoCMin, randSoCSpan = 0.4, 0.4
	// Rooftop arrays peak at 3-6 kW.
	randPVMinW, randPVSpanW gridmesh.W = 3_000, 3_000
	// Sunrise and sunset vary by up to an hour with the array's
	// orientation (east- or west-facing roofs).
	randSunriseMinHour, randSunsetMinHour, randSunSpanHour = 5.5, 19.5, 1.0
	// Night base load of 150-400 W: fridge, standby, ventilation.
	randBaseMinW, randBaseSpanW gridmesh.W = 150, 250
	// The evening peak reaches 0.6-2 kW in all.
	randEveningMinW, randEveningSpanW gridmesh.W = 600, 1_400
	// The morning bump is 30-80 % of the evening one above base.
	randMorningMin, randMorningSpan = 0.3, 0.5
)

// RandomHome draws a home with realistic variety from rng: a 10-13.5 kWh
// battery with 5 kW charge and discharge, 3-6 kW of PV, an evening load
// of about 0.6-2 kW and an initial state of charge of 40-80 %. The same
// rng state gives the same home. The result always validates.
func RandomHome(rng *rand.Rand) HomeParams {
	base := randBaseMinW + gridmesh.W(rng.Float64())*randBaseSpanW
	evening := randEveningMinW + gridmesh.W(rng.Float64())*randEveningSpanW - base
	shift := rng.Float64() * randSunSpanHour
	return HomeParams{
		Battery: BatteryParams{
			CapacityWh:          randCapacityMinWh + gridmesh.Wh(rng.Float64())*randCapacitySpanWh,
			MaxChargeW:          randBatteryW,
			MaxDischargeW:       randBatteryW,
			RoundTripEfficiency: randEfficiency,
		},
		InitialSoC: randSoCMin + rng.Float64()*randSoCSpan,
		PV: PVParams{
			PeakW:       randPVMinW + gridmesh.W(rng.Float64())*randPVSpanW,
			SunriseHour: randSunriseMinHour + shift,
			SunsetHour:  randSunsetMinHour + shift,
		},
		Load: LoadParams{
			BaseW:        base,
			EveningPeakW: evening,
			MorningPeakW: evening * gridmesh.W(randMorningMin+rng.Float64()*randMorningSpan),
			Seed:         rng.Uint64(),
		},
	}
}
