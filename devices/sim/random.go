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

// Ranges RandomFullHome draws from for the devices RandomHome lacks.
const (
	// Homes keep 10-20 % of their battery back for outages, the range
	// vendors suggest for backup.
	randReserveMin, randReserveSpan = 0.1, 0.1
	// Skies range from clear to a cloud in most 10-minute slots.
	randCloudinessSpan = 0.6
	// 20-50 % of the household load can wait: laundry, dishwasher, dryer.
	randSheddableMin, randSheddableSpan = 0.2, 0.3
	// A wallbox: 1.4 kW (6 A, one phase) to 11 kW (16 A, three phases).
	randChargerMinW, randChargerMaxW gridmesh.W = 1_400, 11_000
	// Cars come home on 60-95 % of days, between 16:00 and 20:00, and
	// stay 10-14 h; a day's driving asks 4-30 kWh.
	randSessionMin, randSessionSpan     = 0.6, 0.35
	randArriveHour, randArriveSpanHours = 16.0, 4.0
	randStayHours, randStaySpanHours    = 10.0, 4.0
	randWantMinWh, randWantSpanWh       = 4_000, 26_000
	// Air-source heat pumps with a COP of 3, sized like an installer
	// does: the house's loss at the day's coldest with 20-60 % to spare,
	// heat houses losing 100-250 W/K (newer to older) with 4-8 kWh/K of
	// thermal mass (time constants of about one to three days).
	randSizingMin, randSizingSpan                   = 1.2, 0.4
	randCOP                                         = 3.0
	randLossMinWPerK, randLossSpanWPerK gridmesh.W  = 100, 150
	randCapMinWhPerK, randCapSpanWhPerK gridmesh.Wh = 4_000, 4_000
	// A 2 K comfort band from 19.5-21 °C up, a 0.5 K thermostat gap.
	randBandLowMinC, randBandLowSpanC, randBandC, randHysteresisC = 19.5, 1.5, 2.0, 0.5
	// Frost protection at 8 °C: room thermostats' frost setting is 5-8 °C;
	// the top of that range keeps pipes in outer walls safe.
	randFrostC = 8.0
	// Winter weather: a daily mean of -5..8 °C swinging 2-6 K.
	randOutdoorMinC, randOutdoorSpanC, randSwingMinC, randSwingSpanC = -5.0, 13.0, 2.0, 4.0
)

// RandomFullHome draws a home with every device from rng: RandomHome's
// battery (with a backup reserve), PV (with passing clouds) and load
// (partly sheddable), an EV charger and a heat pump on a winter's day.
// For a given rng state its battery, PV and load are RandomHome's. The
// result always validates.
func RandomFullHome(rng *rand.Rand) FullHomeParams {
	p := RandomHome(rng).Full()
	p.Battery.ReserveSoC = randReserveMin + rng.Float64()*randReserveSpan
	p.PV.Cloudiness = rng.Float64() * randCloudinessSpan
	p.PV.Seed = rng.Uint64()
	p.Load.SheddableShare = randSheddableMin + rng.Float64()*randSheddableSpan
	p.Charger = &ChargerParams{
		MinW: randChargerMinW, MaxW: randChargerMaxW,
		SessionChance: randSessionMin + rng.Float64()*randSessionSpan,
		ArriveHour:    randArriveHour, ArriveSpanHours: randArriveSpanHours,
		StayHours: randStayHours, StaySpanHours: randStaySpanHours,
		WantMinWh: randWantMinWh, WantSpanWh: randWantSpanWh,
		Seed: rng.Uint64(),
	}
	low := randBandLowMinC + rng.Float64()*randBandLowSpanC
	hp := &HeatPumpParams{
		COP:            randCOP,
		LossWPerK:      randLossMinWPerK + gridmesh.W(rng.Float64())*randLossSpanWPerK,
		CapacityWhPerK: randCapMinWhPerK + gridmesh.Wh(rng.Float64())*randCapSpanWhPerK,
		BandLowC:       low, BandHighC: low + randBandC, HysteresisC: randHysteresisC, FrostC: randFrostC,
		OutdoorMeanC:  randOutdoorMinC + rng.Float64()*randOutdoorSpanC,
		OutdoorSwingC: randSwingMinC + rng.Float64()*randSwingSpanC,
	}
	coldest := hp.OutdoorMeanC - hp.OutdoorSwingC
	hp.MaxW = hp.LossWPerK * gridmesh.W((hp.BandHighC-coldest)/hp.COP*(randSizingMin+rng.Float64()*randSizingSpan))
	p.HeatPump = hp
	p.InitialIndoorC = low + rng.Float64()*randBandC
	return p
}
