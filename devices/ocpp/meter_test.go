package ocpp

import (
	"encoding/json"
	"testing"

	"github.com/gridmesh/gridmesh"
	"github.com/lorenzodonini/ocpp-go/ocpp1.6/types"
)

func TestDecodeSamples(t *testing.T) {
	for _, tc := range []struct {
		name string
		json string // the sampledValue array as a charger sends it
		want sample
	}{
		{"power and energy", `[{"value":"7012.5","measurand":"Power.Active.Import","unit":"W"},{"value":"12345","measurand":"Energy.Active.Import.Register","unit":"Wh"}]`,
			sample{powerW: 7012.5, hasPower: true, energyWh: 12345, hasEnergy: true}},
		{"kW and kWh", `[{"value":"7.2","measurand":"Power.Active.Import","unit":"kW"},{"value":"12.5","measurand":"Energy.Active.Import.Register","unit":"kWh"}]`,
			sample{powerW: 7200, hasPower: true, energyWh: 12500, hasEnergy: true}},
		{"defaults: energy in Wh", `[{"value":"100"}]`, sample{energyWh: 100, hasEnergy: true}},
		{"power per phase", `[{"value":"2300","measurand":"Power.Active.Import","phase":"L1"},{"value":"2300","measurand":"Power.Active.Import","phase":"L2"},{"value":"2300","measurand":"Power.Active.Import","phase":"L3"}]`,
			sample{powerW: 6900, hasPower: true}},
		{"total beats phases", `[{"value":"2300","measurand":"Power.Active.Import","phase":"L1"},{"value":"7000","measurand":"Power.Active.Import"}]`,
			sample{powerW: 7000, hasPower: true}},
		{"current per phase", `[{"value":"10","measurand":"Current.Import","phase":"L1","unit":"A"},{"value":"10","measurand":"Current.Import","phase":"L2","unit":"A"},{"value":"10","measurand":"Current.Import","phase":"L3","unit":"A"}]`,
			sample{powerW: 6900, hasPower: true}},
		{"current without phase: on each phase", `[{"value":"10","measurand":"Current.Import"}]`, sample{powerW: 6900, hasPower: true}},
		{"power beats current", `[{"value":"16","measurand":"Current.Import"},{"value":"5000","measurand":"Power.Active.Import"}]`, sample{powerW: 5000, hasPower: true}},
		{"offered is not drawn", `[{"value":"11000","measurand":"Power.Offered"},{"value":"16","measurand":"Current.Offered"}]`, sample{}},
		{"the car's own figures ignored", `[{"value":"80","measurand":"SoC","location":"EV","unit":"Percent"},{"value":"5000","measurand":"Power.Active.Import","location":"EV"}]`, sample{}},
		{"signed data ignored", `[{"value":"AbCd==","format":"SignedData"}]`, sample{}},
		{"garbage ignored", `[{"value":"NaN","measurand":"Power.Active.Import"},{"value":"-5","measurand":"Power.Active.Import","phase":"L1"},{"value":"1e999"},{"value":"x"}]`, sample{}},
		{"power beyond a home", `[{"value":"1e9","measurand":"Power.Active.Import"}]`, sample{}},
		{"wrong unit", `[{"value":"7","measurand":"Power.Active.Import","unit":"kVA"},{"value":"7","measurand":"Current.Import","unit":"V"}]`, sample{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var vs []types.SampledValue
			if err := json.Unmarshal([]byte(tc.json), &vs); err != nil {
				t.Fatal(err)
			}
			if got := decodeSamples(vs, threePhase); got != tc.want {
				t.Errorf("decodeSamples = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// FuzzDecodeSamples feeds MeterValues sampled values as a charger could
// send them: whatever they hold, the figures are finite, non-negative and
// within a home's bounds, or absent.
func FuzzDecodeSamples(f *testing.F) {
	f.Add(`[{"value":"7012.5","measurand":"Power.Active.Import","unit":"W"},{"value":"12","measurand":"Energy.Active.Import.Register","unit":"kWh"}]`)
	f.Add(`[{"value":"10","measurand":"Current.Import","phase":"L1"},{"value":"1e308","measurand":"Current.Import","phase":"L2"}]`)
	f.Add(`[{"value":"0x1p-2","measurand":"Power.Active.Import","phase":"L1-N"}]`)
	f.Fuzz(func(t *testing.T, in string) {
		var vs []types.SampledValue
		if json.Unmarshal([]byte(in), &vs) != nil {
			return
		}
		s := decodeSamples(vs, threePhase)
		if s.hasPower && !(s.powerW >= 0 && s.powerW <= gridmesh.MaxHomePowerW) || !s.hasPower && s.powerW != 0 {
			t.Errorf("power %v (has %v) from %s", s.powerW, s.hasPower, in)
		}
		if s.hasEnergy && !(s.energyWh >= 0 && s.energyWh <= maxEnergyWh) || !s.hasEnergy && s.energyWh != 0 {
			t.Errorf("energy %v (has %v) from %s", s.energyWh, s.hasEnergy, in)
		}
	})
}
