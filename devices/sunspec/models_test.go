package sunspec

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/gridmesh/gridmesh"
)

// blk returns a model block of id and length l (ID and L included), all
// points 0 but those set.
func blk(id uint16, l int, set map[int]uint16) []uint16 {
	b := make([]uint16, l+2)
	b[0], b[1] = id, uint16(l)
	for off, v := range set {
		b[off] = v
	}
	return b
}

func sf(s int) uint16  { return uint16(int16(s)) }
func neg(v int) uint16 { return uint16(int16(v)) }

// Valid blocks, as a device serving a 5 kW, 10 kWh battery and 6 kW of
// PV would hold them.
var (
	storage124  = blk(124, 24, map[int]uint16{2: 5000, 5: 0, 8: 523, 11: 4, 12: 10000, 13: 10000, 15: 0, 18: sf(0), 22: sf(-1), 25: sf(-2)})
	battery802  = blk(802, 62, map[int]uint16{3: 1000, 4: 5000, 5: 5000, 11: 523, 16: 4, 47: neg(-2000), 53: sf(1), 54: sf(0), 56: sf(-1), 63: sf(0)})
	controls123 = blk(123, 24, map[int]uint16{5: 1000, 7: 0, 9: 0, 23: sf(-1)})
	der704      = blk(704, 65, map[int]uint16{14: 0, 15: 1000, 18: 0, 19: 0, 54: sf(-1)})
	inverter103 = blk(103, 50, map[int]uint16{10: 2300, 13: sf(-1), 14: 1500, 15: sf(0), 16: 5000, 17: sf(-2), 38: 4})
	meter203    = blk(203, 105, map[int]uint16{7: 2300, 15: sf(-1), 16: 5000, 17: sf(-2), 18: neg(-700), 22: sf(0)})
	common1     = func() []uint16 {
		b := blk(1, 66, nil)
		copy(b[2:], []uint16{0x6772, 0x6964, 0x6d65, 0x7368}) // "gridmesh"
		copy(b[50:], []uint16{0x3030, 0x3031})                // "0001"
		return b
	}()
	nameplate120 = blk(120, 26, map[int]uint16{3: 6000, 4: sf(0), 19: 1000, 20: sf(1), 25: 5000, 26: sf(0)})
	settings121  = blk(121, 30, map[int]uint16{2: 600, 22: sf(1)})
)

func TestDecodeValidModels(t *testing.T) {
	c, err := decodeCommon(common1)
	if err != nil || c.Manufacturer != "gridmesh" || c.Serial != "0001" {
		t.Fatalf("common: %+v, %v", c, err)
	}
	st, err := decodeStorage(storage124)
	if err != nil {
		t.Fatal(err)
	}
	bat, err := decodeBattery(battery802)
	if err != nil {
		t.Fatal(err)
	}
	f, err := flexibility(st, &bat, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := gridmesh.Flexibility{PowerW: 2000, MinW: -5000, MaxW: 5000, SoC: 0.523, CapacityWh: 10000, ChargeWh: 4770, DischargeWh: 5230}
	if !nearFlex(f, want) {
		t.Errorf("flexibility = %+v, want %+v", f, want)
	}
	np, _ := decodeNameplate(nameplate120)
	set, _ := decodeSettings(settings121)
	if p, ok := peakW(&set, &np); !ok || p != 6000 {
		t.Errorf("peak = %v %v, want 6000 from 121", p, ok)
	}
	inv, _ := decodeInverter(inverter103)
	pv, err := pvState(inv, 6000, value{50, true}, true, 2000)
	if err != nil || pv.PowerW != 3500 || pv.LimitW != 3000 || pv.PeakW != 6000 {
		t.Errorf("pv = %+v, %v; want 3500 W produced under a 3000 W limit", pv, err)
	}
	m, _ := decodeMeter(meter203)
	r, err := meterReading(m)
	if err != nil || r.NetW != -700 || r.VoltageV != 230 || r.FrequencyHz != 50 || !r.GridOK {
		t.Errorf("meter = %+v, %v", r, err)
	}
}

// TestFlexibilityReserveAndLosses: the energies are at the bus, after
// the losses of a round trip split evenly, and discharging stops at
// 124's MinRsvPct.
func TestFlexibilityReserveAndLosses(t *testing.T) {
	bat, _ := decodeBattery(battery802) // SoC 52.3 %, 10 kWh
	eta := gridmesh.Wh(math.Sqrt(0.81)) // 0.9 each way
	tests := []struct {
		name          string
		rsv, rsvSF    uint16
		charge, disch gridmesh.Wh
		err           bool
	}{
		{"no reserve point", 0xFFFF, 0x8000, 4770 / eta, 5230 * eta, false},
		{"10 % reserve", 100, sf(-1), 4770 / eta, 4230 * eta, false},
		{"reserve above the SoC", 60, sf(0), 4770 / eta, 0, false},
		{"reserve of 100 %", 100, sf(0), 4770 / eta, 0, false},
		{"reserve over 100 %", 1001, sf(-1), 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			regs := append([]uint16(nil), storage124...)
			regs[7], regs[21] = tt.rsv, tt.rsvSF
			st, err := decodeStorage(regs)
			if err != nil {
				t.Fatal(err)
			}
			f, err := flexibility(st, &bat, nil, 0.81)
			if tt.err {
				if !errors.Is(err, ErrBadModel) {
					t.Fatalf("err = %v, want ErrBadModel", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := gridmesh.Flexibility{PowerW: 2000, MinW: -5000, MaxW: 5000, SoC: 0.523, CapacityWh: 10000, ChargeWh: tt.charge, DischargeWh: tt.disch}
			if !nearFlex(f, want) {
				t.Errorf("flexibility = %+v, want %+v", f, want)
			}
		})
	}
}

func nearFlex(a, b gridmesh.Flexibility) bool {
	n := func(x, y float64) bool { return math.Abs(x-y) < 1e-6*max(1, math.Abs(y)) }
	return n(float64(a.PowerW), float64(b.PowerW)) && n(float64(a.MinW), float64(b.MinW)) && n(float64(a.MaxW), float64(b.MaxW)) &&
		n(a.SoC, b.SoC) && n(float64(a.CapacityWh), float64(b.CapacityWh)) && n(float64(a.ChargeWh), float64(b.ChargeWh)) &&
		n(float64(a.DischargeWh), float64(b.DischargeWh))
}

func TestStorageCommand(t *testing.T) {
	st, _ := decodeStorage(storage124)
	tests := []struct {
		w       gridmesh.W
		out, in int16
	}{
		{2000, -4000, 4000},
		{-1500, 3000, -3000},
		{0, 0, 0},
		{1e9, -10000, 10000},
	}
	for _, tc := range tests {
		ws, err := writesOf(storageCommand(st, tc.w, 60, RatesWindow))
		if err != nil {
			t.Fatalf("%v: %v", tc.w, err)
		}
		if len(ws) != 3 || ws[0].off != 12 || int16(ws[0].regs[0]) != tc.out || int16(ws[0].regs[1]) != tc.in ||
			ws[1].off != 15 || ws[1].regs[0] != 60 || ws[2].off != 5 || ws[2].regs[0] != 3 {
			t.Errorf("%v: writes %+v", tc.w, ws)
		}
	}
	for _, tc := range []struct {
		w       gridmesh.W
		out, in int16
	}{{2000, 0, 4000}, {-1500, 3000, 0}, {0, 0, 0}} {
		c, err := storageCommand(st, tc.w, 60, RatesNet)
		if err != nil || int16(c.set.regs[0]) != tc.out || int16(c.set.regs[1]) != tc.in {
			t.Errorf("net %v: rates %v (%v), want OutWRte %d InWRte %d", tc.w, c.set.regs, err, tc.out, tc.in)
		}
	}
	if _, err := storageCommand(st, gridmesh.W(math.NaN()), 60, RatesWindow); err == nil {
		t.Error("NaN command accepted")
	}
	for name, mod := range map[string]func([]uint16){
		"no WChaMax":       func(b []uint16) { b[2] = notUint16 },
		"no rates":         func(b []uint16) { b[12], b[13] = notInt16, notInt16 },
		"rate SF too fine": func(b []uint16) { b[25] = sf(-3) },
		"rate SF absent":   func(b []uint16) { b[25] = notInt16 },
	} {
		b := append([]uint16(nil), storage124...)
		mod(b)
		st, err := decodeStorage(b)
		if err != nil {
			t.Fatal(err)
		}
		if ws, err := writesOf(storageCommand(st, 1000, 60, RatesWindow)); err == nil {
			t.Errorf("%s: got writes %+v, want an error", name, ws)
		}
	}
	b := append([]uint16(nil), storage124...)
	b[15] = notUint16 // no reversion time: rates and mode only
	st, _ = decodeStorage(b)
	if ws, err := writesOf(storageCommand(st, 1000, 60, RatesWindow)); err != nil || len(ws) != 2 {
		t.Errorf("without reversion: %+v, %v", ws, err)
	}
}

func TestLimitCommands(t *testing.T) {
	c, _ := decodeControls(controls123)
	ws, err := writesOf(controlsCommand(c, 1500, 6000, 60))
	if err != nil || len(ws) != 3 || ws[0].regs[0] != 250 || ws[1].off != 7 || ws[1].regs[0] != 60 || ws[2].off != 9 || ws[2].regs[0] != 1 {
		t.Errorf("123 limit: %+v, %v", ws, err)
	}
	ws, err = writesOf(controlsCommand(c, 7000, 6000, 60))
	if err != nil || ws[0].regs[0] != 1000 || ws[2].regs[0] != 0 {
		t.Errorf("123 no limit: %+v, %v", ws, err)
	}
	d, _ := decodeDERControls(der704)
	ws, err = writesOf(derControlsCommand(d, 1500, 6000, 70000))
	if err != nil || len(ws) != 3 || ws[0].off != 15 || ws[0].regs[0] != 250 ||
		ws[1].off != 17 || ws[1].regs[0] != 0 || ws[1].regs[1] != 1 || ws[1].regs[2] != 70000-65536 ||
		ws[2].off != 14 || ws[2].regs[0] != 1 {
		t.Errorf("704 limit: %+v, %v", ws, err)
	}
	for _, w := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := writesOf(controlsCommand(c, gridmesh.W(w), 6000, 60)); !errors.Is(err, ErrBadCommand) {
			t.Errorf("limit %v: %v, want ErrBadCommand", w, err)
		}
	}
}

// Fuzzing: every decoder on garbage. Nothing may panic; a block that
// decodes yields readings that validate and commands whose percentages
// stay within ±100 %, or an error.

func regsOf(b []byte) []uint16 {
	r := make([]uint16, len(b)/2)
	for i := range r {
		r[i] = binary.BigEndian.Uint16(b[2*i:])
	}
	return r
}

func bytesOf(r []uint16) []byte {
	b := make([]byte, 2*len(r))
	for i, v := range r {
		binary.BigEndian.PutUint16(b[2*i:], v)
	}
	return b
}

// checkPercent fails unless raw at scale factor sfReg is within ±100 %.
func checkPercent(t *testing.T, raw, sfReg uint16) {
	t.Helper()
	s, ok := scaleFactor(sfReg)
	if !ok {
		t.Fatalf("command at unusable scale factor %#04x", sfReg)
	}
	if v := float64(int16(raw)) * pow10[s+maxSF]; math.Abs(v) > 100+pow10[s+maxSF] {
		t.Fatalf("command of %v %%", v)
	}
}

var fuzzPowers = []gridmesh.W{-1e7, -2000, 0, 2000, 1e7, gridmesh.W(math.Inf(1)), gridmesh.W(math.NaN())}

func FuzzWalkModels(f *testing.F) {
	r := regSpace{}
	r.put(40000, [2]uint16{1, 66}, [2]uint16{124, 24})
	img := make([]uint16, 100)
	for i := range img {
		img[i] = r[40000+uint32(i)]
	}
	f.Add(uint16(40000), bytesOf(img))
	f.Add(uint16(65530), bytesOf([]uint16{markerHi, markerLo, 1, 2, 0, 0}))
	f.Fuzz(func(t *testing.T, base uint16, data []byte) {
		regs := regsOf(data)
		read := func(addr, n uint16) ([]uint16, error) {
			lo := int(addr) - int(base)
			if lo < 0 || lo+int(n) > len(regs) {
				return nil, ErrRefused
			}
			return regs[lo : lo+int(n)], nil
		}
		chain, err := walkModels(read, base, 16)
		if err != nil {
			return
		}
		if len(chain) > 16 {
			t.Fatalf("%d models", len(chain))
		}
		next := uint32(base) + 2
		for _, h := range chain {
			if uint32(h.Addr) != next || uint32(h.Addr)+2+uint32(h.Len) > 0x10000 {
				t.Fatalf("bad header %+v in %v", h, chain)
			}
			next = uint32(h.Addr) + 2 + uint32(h.Len)
		}
	})
}

func FuzzDecodeCommon(f *testing.F) {
	f.Add(bytesOf(common1))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decodeCommon(regsOf(data))
		if err != nil {
			return
		}
		for _, s := range []string{c.Manufacturer, c.Model, c.Options, c.Version, c.Serial} {
			for _, r := range s {
				if r < 0x20 || r > 0x7e {
					t.Fatalf("unprintable %q", s)
				}
			}
		}
	})
}

func FuzzDecodeInverter(f *testing.F) {
	f.Add(bytesOf(inverter103))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := decodeInverter(regsOf(data))
		if err != nil {
			return
		}
		if s, err := pvState(inv, 6000, value{50, true}, true, 0); err == nil && (s.PowerW < 0 || !s.PowerW.Finite()) {
			t.Fatalf("pv state %+v", s)
		}
	})
}

func FuzzDecodeNameplate(f *testing.F) {
	f.Add(bytesOf(nameplate120))
	f.Fuzz(func(t *testing.T, data []byte) {
		np, err := decodeNameplate(regsOf(data))
		if err != nil {
			return
		}
		if p, ok := peakW(nil, &np); ok && (p <= 0 || p > gridmesh.MaxHomePowerW) {
			t.Fatalf("peak %v", p)
		}
	})
}

func FuzzDecodeSettings(f *testing.F) {
	f.Add(bytesOf(settings121))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decodeSettings(regsOf(data))
		if err != nil {
			return
		}
		if p, ok := peakW(&s, nil); ok && (p <= 0 || p > gridmesh.MaxHomePowerW) {
			t.Fatalf("peak %v", p)
		}
	})
}

func FuzzDecodeModel123(f *testing.F) {
	f.Add(bytesOf(controls123))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decodeControls(regsOf(data))
		if err != nil {
			return
		}
		for _, w := range fuzzPowers {
			ws, err := writesOf(controlsCommand(c, w, 6000, 60))
			if err != nil {
				continue
			}
			checkPercent(t, ws[0].regs[0], c.sf)
			if en := ws[len(ws)-1]; en.off != offControlsLim+4 || en.regs[0] > 1 {
				t.Fatalf("enable write %+v", en)
			}
		}
	})
}

func FuzzDecodeModel124(f *testing.F) {
	f.Add(bytesOf(storage124))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := decodeStorage(regsOf(data))
		if err != nil {
			return
		}
		if fl, err := flexibility(st, nil, nil, minRoundTripEfficiency); err == nil {
			if err := fl.Validate(); err != nil {
				t.Fatalf("flexibility %+v: %v", fl, err)
			}
		}
		for _, w := range fuzzPowers {
			ws, err := writesOf(storageCommand(st, w, 60, RatesWindow))
			if err != nil {
				continue
			}
			checkPercent(t, ws[0].regs[0], st.rateSF)
			checkPercent(t, ws[0].regs[1], st.rateSF)
			if int16(ws[0].regs[0]) != -int16(ws[0].regs[1]) {
				t.Fatalf("rates %v do not hold one power", ws[0].regs)
			}
			if m := ws[len(ws)-1]; m.off != offStorageMod || m.regs[0] != modCharge|modDischarge {
				t.Fatalf("mode write %+v", m)
			}
		}
	})
}

func FuzzDecodeModel802(f *testing.F) {
	f.Add(bytesOf(battery802))
	st, _ := decodeStorage(storage124)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := decodeBattery(regsOf(data))
		if err != nil {
			return
		}
		if fl, err := flexibility(st, &b, nil, minRoundTripEfficiency); err == nil {
			if err := fl.Validate(); err != nil {
				t.Fatalf("flexibility %+v: %v", fl, err)
			}
		}
	})
}

func FuzzDecodeModel704(f *testing.F) {
	f.Add(bytesOf(der704))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decodeDERControls(regsOf(data))
		if err != nil {
			return
		}
		for _, w := range fuzzPowers {
			ws, err := writesOf(derControlsCommand(c, w, 6000, 60))
			if err != nil {
				continue
			}
			checkPercent(t, ws[0].regs[0], c.sf)
			if en := ws[len(ws)-1]; en.off != offDERControlsLim || en.regs[0] > 1 {
				t.Fatalf("enable write %+v", en)
			}
		}
	})
}

func FuzzDecodeMeter(f *testing.F) {
	f.Add(bytesOf(meter203))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeMeter(regsOf(data))
		if err != nil {
			return
		}
		if r, err := meterReading(m); err == nil && (!r.NetW.Finite() || math.Abs(float64(r.NetW)) > float64(gridmesh.MaxHomePowerW)) {
			t.Fatalf("reading %+v", r)
		}
	})
}

// writesOf is every write of a command, in order.
func writesOf(c command, err error) ([]write, error) { return c.all(), err }

// mppt160 is 160 as a Fronius-style hybrid holds it: a PV string, the
// battery charging at 1.2 kW (DCW at SF 0), nothing discharging.
var mppt160 = func() []uint16 {
	b := blk(160, 68, map[int]uint16{4: sf(0), 8: 3})
	for i, name := range []string{"String 1", "StCha 2", "StDisCha 3"} {
		m := b[10+20*i:]
		m[0] = uint16(i + 1)
		for j := 0; j < len(name); j += 2 {
			hi, lo := uint16(name[j]), uint16(0)
			if j+1 < len(name) {
				lo = uint16(name[j+1])
			}
			m[1+j/2] = hi<<8 | lo
		}
		m[11] = []uint16{3000, 1200, 0}[i]
	}
	return b
}()

func TestDecodeMPPT(t *testing.T) {
	m, err := decodeMPPT(mppt160)
	if err != nil || len(m.modules) != 3 || m.modules[1].name != "StCha 2" || m.modules[0].w.v != 3000 {
		t.Fatalf("decoded %+v, %v", m, err)
	}
	if w, ok := storageModules(m); !ok || w != 1200 {
		t.Errorf("storage modules give %v (%v), want 1200 W charging", w, ok)
	}
	pvOnly := mppt{modules: m.modules[:1]}
	if _, ok := storageModules(pvOnly); ok {
		t.Error("a PV-only 160 gave a battery power")
	}
	for name, mod := range map[string]func([]uint16) []uint16{
		"N past L":      func(b []uint16) []uint16 { b[8] = 4; return b },
		"N absurd":      func(b []uint16) []uint16 { b[8] = 1000; return b },
		"N unset":       func(b []uint16) []uint16 { b[8] = notUint16; return b },
		"short block":   func(b []uint16) []uint16 { return b[:40] },
		"another model": func(b []uint16) []uint16 { b[0] = 124; return b },
	} {
		if _, err := decodeMPPT(mod(append([]uint16(nil), mppt160...))); !errors.Is(err, ErrBadModel) {
			t.Errorf("%s: %v, want ErrBadModel", name, err)
		}
	}
}

func FuzzDecodeModel160(f *testing.F) {
	f.Add(bytesOf(mppt160))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeMPPT(regsOf(data))
		if err != nil {
			return
		}
		if w, ok := storageModules(m); ok && (!w.Finite() || math.Abs(float64(w)) > float64(maxMPPTModules)*float64(gridmesh.MaxHomePowerW)) {
			t.Fatalf("battery power %v from %+v", w, m)
		}
	})
}
