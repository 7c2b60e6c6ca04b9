package mqtt

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

func decodeWith(k Kind, mutate func(*Config), payload string) (state, error) {
	c := validConfig(k)
	if mutate != nil {
		mutate(&c)
	}
	return decodeState(c, payload)
}

// decodeState decodes one payload on c's state topic into a whole
// reading, as a device that has heard nothing else would.
func decodeState(c Config, payload string) (state, error) {
	d, err := newDecoder(c)
	if err != nil {
		return state{}, err
	}
	vals, err := d.decode(c.StateTopic, []byte(payload))
	if err != nil {
		return state{}, err
	}
	now := time.Unix(1_700_000_000, 0)
	slots := make([]slot, len(d.spec.fields))
	for _, v := range vals {
		slots[v.idx] = slot{v: v.v, ok: v.ok, at: now}
	}
	a, err := d.assemble(slots, now, DefaultStaleAfter)
	if err != nil {
		return state{}, err
	}
	if len(a.missing) > 0 {
		return state{}, fmt.Errorf("%w: missing %v", ErrBadPayload, a.missing)
	}
	return a.st, nil
}

func TestDecodeGood(t *testing.T) {
	percent := func(c *Config) { c.SoCPercent = true }
	cases := []struct {
		name    string
		kind    Kind
		mutate  func(*Config)
		payload string
		want    state
	}{
		{"battery", KindBattery, nil,
			`{"power_w": 1500, "soc": 0.25, "min_w": -5000, "max_w": 4000, "capacity_wh": 10000, "vendor": {"x": [1, "y"]}}`,
			state{battery: gridmesh.Flexibility{PowerW: 1500, SoC: 0.25, MinW: -5000, MaxW: 4000, CapacityWh: 10000, ChargeWh: 7500, DischargeWh: 2500}}},
		{"battery percent", KindBattery, percent,
			`{"power_w": -2e3, "soc": 50, "min_w": -5000, "max_w": 0, "capacity_wh": 8000}`,
			state{battery: gridmesh.Flexibility{PowerW: -2000, SoC: 0.5, MinW: -5000, CapacityWh: 8000, ChargeWh: 4000, DischargeWh: 4000}}},
		{"battery energies", KindBattery, nil,
			`{"power_w": 0, "soc": 0.5, "min_w": -5000, "max_w": 4000, "capacity_wh": 10000, "charge_wh": 5270.5, "discharge_wh": 3794.7}`,
			state{battery: gridmesh.Flexibility{SoC: 0.5, MinW: -5000, MaxW: 4000, CapacityWh: 10000, ChargeWh: 5270.5, DischargeWh: 3794.7}}},
		{"battery renamed", KindBattery, func(c *Config) { c.Fields["power"] = "P" },
			`{"P": 10, "power_w": "ignored", "soc": 1, "min_w": -1, "max_w": 0, "capacity_wh": 100}`,
			state{battery: gridmesh.Flexibility{PowerW: 10, SoC: 1, MinW: -1, CapacityWh: 100, DischargeWh: 100}}},
		{"battery numbers as strings", KindBattery, nil,
			`{"power_w": "1500", "soc": " 0.25 ", "min_w": "-5000", "max_w": "4e3", "capacity_wh": 10000}`,
			state{battery: gridmesh.Flexibility{PowerW: 1500, SoC: 0.25, MinW: -5000, MaxW: 4000, CapacityWh: 10000, ChargeWh: 7500, DischargeWh: 2500}}},
		{"meter flags in words", KindMeter, nil, `{"net_w": 5, "grid_ok": "OFF"}`,
			state{meter: gridmesh.MeterReading{NetW: 5}}},
		{"meter flag as 1", KindMeter, nil, `{"net_w": 5, "grid_ok": 1}`,
			state{meter: gridmesh.MeterReading{NetW: 5, GridOK: true}}},
		{"meter minimal", KindMeter, nil, `{"net_w": -1200.5}`,
			state{meter: gridmesh.MeterReading{NetW: -1200.5, GridOK: true}}},
		{"meter full", KindMeter, nil, `{"net_w": 300, "voltage_v": 231.2, "frequency_hz": 49.95, "grid_ok": false}`,
			state{meter: gridmesh.MeterReading{NetW: 300, VoltageV: 231.2, FrequencyHz: 49.95}}},
		{"meter voltage unmapped", KindMeter, func(c *Config) { c.Fields["voltage"] = "" }, `{"net_w": 1, "voltage_v": "n/a"}`,
			state{meter: gridmesh.MeterReading{NetW: 1, GridOK: true}}},
		{"pv minimal", KindPV, nil, `{"power_w": 3000, "peak_w": 5000}`,
			state{pv: gridmesh.PVState{PowerW: 3000, AvailableW: 3000, LimitW: 5000, PeakW: 5000}}},
		{"pv full", KindPV, nil, `{"power_w": 1000, "available_w": 3500, "limit_w": 1000, "peak_w": 5000}`,
			state{pv: gridmesh.PVState{PowerW: 1000, AvailableW: 3500, LimitW: 1000, PeakW: 5000}}},
		{"charger", KindCharger, nil,
			`{"connected": true, "power_w": 7400, "min_w": 1400, "max_w": 11000, "wanted_wh": 20000, "departure_ms": 1800000000000}`,
			state{charger: gridmesh.ChargerState{Connected: true, PowerW: 7400, MinW: 1400, MaxW: 11000, WantedWh: 20000, DepartureMs: 1800000000000}}},
		{"charger minimal", KindCharger, nil, `{"connected": false, "power_w": 0, "min_w": 1400, "max_w": 1400}`,
			state{charger: gridmesh.ChargerState{MinW: 1400, MaxW: 1400}}},
		{"heatpump", KindHeatPump, nil,
			`{"power_w": 1200, "max_w": 3000, "indoor_c": 20.5, "outdoor_c": -7, "band_low_c": 19, "band_high_c": 22}`,
			state{heatPump: gridmesh.HeatPumpState{PowerW: 1200, MaxW: 3000, IndoorC: 20.5, OutdoorC: -7, BandLowC: 19, BandHighC: 22}}},
		{"loads", KindLoads, nil, ` { "critical_w": 300, "noncritical_w": 700, "shed": true } `,
			state{loads: gridmesh.LoadState{CriticalW: 300, NonCriticalW: 700, Shed: true}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeWith(tc.kind, tc.mutate, tc.payload)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestDecodeRefuses(t *testing.T) {
	const bat = `"min_w": -5000, "max_w": 5000, "capacity_wh": 10000`
	cases := []struct {
		name    string
		kind    Kind
		payload string
		want    string
	}{
		{"empty", KindBattery, ``, "unexpected end"},
		{"not json", KindBattery, `power=5`, "invalid character"},
		{"null", KindBattery, `null`, "null"},
		{"array", KindBattery, `[1, 2]`, `"power"`},
		{"string", KindBattery, `"x"`, "want a JSON object or array"},
		{"trailing data", KindBattery, `{"power_w": 1, "soc": 0.5, ` + bat + `} {}`, "trailing data"},
		{"truncated", KindBattery, `{"power_w": 1, "soc": 0.5,`, "unexpected"},
		{"missing required", KindBattery, `{"power_w": 1, ` + bat + `}`, `"soc"`},
		{"number in words", KindBattery, `{"power_w": "1500 W", "soc": 0.5, ` + bat + `}`, "want a number"},
		{"number as hex string", KindBattery, `{"power_w": "0x10", "soc": 0.5, ` + bat + `}`, "want a number"},
		{"number as NaN string", KindBattery, `{"power_w": "NaN", "soc": 0.5, ` + bat + `}`, "want a number"},
		{"number null", KindBattery, `{"power_w": null, "soc": 0.5, ` + bat + `}`, `"power"`},
		{"number as bool", KindBattery, `{"power_w": true, "soc": 0.5, ` + bat + `}`, "want a number"},
		{"number as object", KindBattery, `{"power_w": {"v": 1}, "soc": 0.5, ` + bat + `}`, "want a number"},
		{"power out of range", KindBattery, `{"power_w": 1000001, "soc": 0.5, ` + bat + `}`, "outside"},
		{"power overflows", KindBattery, `{"power_w": 1e400, "soc": 0.5, ` + bat + `}`, "out of range"},
		{"soc above 1", KindBattery, `{"power_w": 1, "soc": 50, ` + bat + `}`, "outside [0, 1]"},
		{"soc negative", KindBattery, `{"power_w": 1, "soc": -0.1, ` + bat + `}`, "outside"},
		{"min positive", KindBattery, `{"power_w": 1, "soc": 0.5, "min_w": 10, "max_w": 5000, "capacity_wh": 1}`, "outside"},
		{"capacity too big", KindBattery, `{"power_w": 1, "soc": 0.5, "min_w": 0, "max_w": 0, "capacity_wh": 1e8}`, "outside"},
		{"too big", KindBattery, `{"pad": "` + strings.Repeat("x", maxStatePayload) + `"}`, "at most"},
		{"meter bool as number", KindMeter, `{"net_w": 1, "grid_ok": 2}`, "want true or false"},
		{"meter bool as string", KindMeter, `{"net_w": 1, "grid_ok": "yes"}`, "want true or false"},
		{"meter voltage negative", KindMeter, `{"net_w": 1, "voltage_v": -230}`, "outside"},
		{"meter frequency absurd", KindMeter, `{"net_w": 1, "frequency_hz": 5000}`, "outside"},
		{"pv negative", KindPV, `{"power_w": -1, "peak_w": 5000}`, "outside"},
		{"pv no peak", KindPV, `{"power_w": 1}`, `"peak"`},
		{"charger fraction ms", KindCharger, `{"connected": true, "power_w": 0, "min_w": 1, "max_w": 2, "departure_ms": 1.5}`, "integer"},
		{"charger exponent ms", KindCharger, `{"connected": true, "power_w": 0, "min_w": 1, "max_w": 2, "departure_ms": 1e12}`, "integer"},
		{"charger negative ms", KindCharger, `{"connected": true, "power_w": 0, "min_w": 1, "max_w": 2, "departure_ms": -1}`, "outside"},
		{"charger huge ms", KindCharger, `{"connected": true, "power_w": 0, "min_w": 1, "max_w": 2, "departure_ms": 9007199254740993}`, "outside"},
		{"charger empty range", KindCharger, `{"connected": true, "power_w": 0, "min_w": 3000, "max_w": 2000}`, "empty"},
		{"charger connected string", KindCharger, `{"connected": "yes", "power_w": 0, "min_w": 1, "max_w": 2}`, "want true or false"},
		{"heatpump hot", KindHeatPump, `{"power_w": 1, "max_w": 2, "indoor_c": 500, "outdoor_c": 0, "band_low_c": 19, "band_high_c": 22}`, "outside"},
		{"heatpump band", KindHeatPump, `{"power_w": 1, "max_w": 2, "indoor_c": 20, "outdoor_c": 0, "band_low_c": 23, "band_high_c": 22}`, "empty"},
		{"loads no shed", KindLoads, `{"critical_w": 1, "noncritical_w": 2}`, `"shed"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeWith(tc.kind, nil, tc.payload)
			if err == nil {
				t.Fatalf("accepted: %+v", got)
			}
			if !errors.Is(err, ErrBadPayload) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q: want ErrBadPayload mentioning %q", err, tc.want)
			}
			if got != (state{}) {
				t.Fatalf("refused payload left a reading: %+v", got)
			}
		})
	}
}

func TestDecodeQuotesLittle(t *testing.T) {
	_, err := decodeWith(KindMeter, nil, `{"net_w": "`+strings.Repeat("A", 1000)+`"}`)
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("error of %d bytes: %v", len(err.Error()), err)
	}
}

// checkState reports what is wrong with a reading the decoder produced:
// whatever the payload, a reading must be finite and in range.
func checkState(k Kind, s state) error {
	inRange := func(lo, hi float64, xs ...float64) error {
		for _, x := range xs {
			if math.IsNaN(x) || x < lo || x > hi {
				return errors.New("figure out of range")
			}
		}
		return nil
	}
	const m = float64(gridmesh.MaxHomePowerW)
	switch k {
	case KindBattery:
		return s.battery.Validate()
	case KindMeter:
		r := s.meter
		return errors.Join(inRange(-m, m, float64(r.NetW)), inRange(0, maxVoltageV, r.VoltageV), inRange(0, maxFrequencyHz, r.FrequencyHz))
	case KindPV:
		p := s.pv
		return inRange(0, m, float64(p.PowerW), float64(p.AvailableW), float64(p.LimitW), float64(p.PeakW))
	case KindCharger:
		c := s.charger
		if c.MinW > c.MaxW || c.DepartureMs < 0 {
			return errors.New("charger range")
		}
		return errors.Join(inRange(0, m, float64(c.PowerW), float64(c.MinW), float64(c.MaxW)), inRange(0, float64(gridmesh.MaxHomeEnergyWh), float64(c.WantedWh)))
	case KindHeatPump:
		h := s.heatPump
		if h.BandLowC > h.BandHighC {
			return errors.New("band")
		}
		return errors.Join(inRange(0, m, float64(h.PowerW), float64(h.MaxW)), inRange(minTempC, maxTempC, h.IndoorC, h.OutdoorC, h.BandLowC, h.BandHighC))
	case KindLoads:
		return inRange(0, m, float64(s.loads.CriticalW), float64(s.loads.NonCriticalW))
	}
	return errors.New("unknown kind")
}

// FuzzDecodeState feeds any payload to a device of any kind. Garbage
// must never panic, never yield a reading that is out of range, never
// change the state when refused, and never produce a setpoint.
func FuzzDecodeState(f *testing.F) {
	seeds := []string{
		`{"power_w": 1500, "soc": 0.25, "min_w": -5000, "max_w": 4000, "capacity_wh": 10000}`,
		`{"net_w": -1200.5, "voltage_v": 230, "frequency_hz": 50, "grid_ok": true}`,
		`{"power_w": 3000, "peak_w": 5000, "limit_w": 4000}`,
		`{"connected": true, "power_w": 7400, "min_w": 1400, "max_w": 11000, "departure_ms": 1800000000000}`,
		`{"power_w": 1200, "max_w": 3000, "indoor_c": 20.5, "outdoor_c": -7, "band_low_c": 19, "band_high_c": 22}`,
		`{"critical_w": 300, "noncritical_w": 700, "shed": false}`,
		`{"power_w": 1e400}`, `{"soc": NaN}`, `null`, `[]`, `{"a":`, "\xff\xfe", `{"power_w": -0}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), i%2 == 0, []byte(s))
	}
	f.Fuzz(func(t *testing.T, sel uint8, percent bool, payload []byte) {
		k := Kinds()[int(sel)%len(Kinds())]
		c := validConfig(k)
		c.SoCPercent = percent && k == KindBattery
		d, err := New(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		d.receive(d.cfg.StateTopic, payload)
		st := d.Stats()
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.setpoint != nil {
			t.Fatalf("a state payload produced a setpoint: %q", d.setpoint)
		}
		if st.Messages != 1 || st.DecodeErrors > 1 {
			t.Fatalf("stats %+v after one message", st)
		}
		if st.DecodeErrors == 1 {
			if d.have || d.st != (state{}) {
				t.Fatalf("refused payload changed the state: %+v", d.st)
			}
			return
		}
		if !d.have {
			t.Fatal("accepted payload left no state")
		}
		if err := checkState(k, d.st); err != nil {
			t.Fatalf("%s payload %q gave a bad reading %+v: %v", k, payload, d.st, err)
		}
	})
}
