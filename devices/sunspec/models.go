package sunspec

import "fmt"

// The decoders below take a model's registers from its ID register on, so
// the offsets are those of the SunSpec model definitions (ID at 0, L at
// 1, the first point at 2). Each checks the ID and that the block is long
// enough for the points it reads, and never indexes past it.

// Common is model 1, the device's identity.
type Common struct {
	Manufacturer string // Mn
	Model        string // Md
	Options      string // Opt
	Version      string // Vr
	Serial       string // SN
}

// Lengths a block must have (ID and L included) for each decoder.
const (
	lenCommon      = 66
	lenInverter    = 16
	lenInverterDC  = 33 // with DCW, read when the model is that long
	lenNameplate   = 27
	lenSettings    = 23
	lenControls    = 24
	lenStorage     = 26
	lenBattery     = 64
	lenDERControls = 55
	lenMeter       = 23
	lenMPPT        = 10 // the fixed part; modules follow, lenMPPTModule each
	lenMPPTModule  = 20
	// maxMPPTModules bounds the modules read: inverters have 2-4 strings
	// and a hybrid two storage modules; 16 is a malformed N.
	maxMPPTModules = 16
)

func checkBlock(regs []uint16, n int, ids ...uint16) error {
	if len(regs) < n {
		return fmt.Errorf("%w: %d registers, need %d", ErrBadModel, len(regs), n)
	}
	for _, id := range ids {
		if regs[0] == id {
			if int(regs[1])+2 < n {
				return fmt.Errorf("%w: model %d of length %d, need %d", ErrBadModel, id, regs[1], n-2)
			}
			return nil
		}
	}
	return fmt.Errorf("%w: model %d where %v expected", ErrBadModel, regs[0], ids)
}

func decodeCommon(regs []uint16) (Common, error) {
	if err := checkBlock(regs, lenCommon, ModelCommon); err != nil {
		return Common{}, err
	}
	return Common{
		Manufacturer: str(regs[2:18]),
		Model:        str(regs[18:34]),
		Options:      str(regs[34:42]),
		Version:      str(regs[42:50]),
		Serial:       str(regs[50:66]),
	}, nil
}

// inverter is models 101, 102 and 103 (one layout): the AC output W,
// positive exporting, and the DC input DCW when the block reaches it.
type inverter struct{ w, dcw value }

func decodeInverter(regs []uint16) (inverter, error) {
	if err := checkBlock(regs, lenInverter, ModelInverter1Phase, ModelInverterSplitPhase, ModelInverter3Phase); err != nil {
		return inverter{}, err
	}
	inv := inverter{w: i16(regs[14], regs[15])}
	if len(regs) >= lenInverterDC && int(regs[1])+2 >= lenInverterDC {
		inv.dcw = i16(regs[31], regs[32])
	}
	return inv, nil
}

// nameplate is model 120.
type nameplate struct {
	wRtg, whRtg, maxChaRte, maxDisChaRte value
}

func decodeNameplate(regs []uint16) (nameplate, error) {
	if err := checkBlock(regs, lenNameplate, ModelNameplate); err != nil {
		return nameplate{}, err
	}
	return nameplate{
		wRtg:         u16(regs[3], regs[4]),
		whRtg:        u16(regs[19], regs[20]),
		maxChaRte:    u16(regs[23], regs[24]),
		maxDisChaRte: u16(regs[25], regs[26]),
	}, nil
}

// settings is model 121; only WMax, the base of 123's percentages.
type settings struct{ wMax value }

func decodeSettings(regs []uint16) (settings, error) {
	if err := checkBlock(regs, lenSettings, ModelSettings); err != nil {
		return settings{}, err
	}
	return settings{wMax: u16(regs[2], regs[22])}, nil
}

// Offsets of the points the driver writes, from the model's ID register.
const (
	offControlsLim    = 5  // 123: WMaxLimPct, _WinTms, _RvrtTms, _RmpTms, WMaxLim_Ena
	offStorageMod     = 5  // 124: StorCtl_Mod
	offStorageRates   = 12 // 124: OutWRte, InWRte, InOutWRte_WinTms, InOutWRte_RvrtTms
	offDERControlsLim = 14 // 704: WMaxLimPctEna, WMaxLimPct, WMaxLimPctRvrt, WMaxLimPctEnaRvrt, WMaxLimPctRvrtTms (2)
)

// controls is model 123, immediate controls: the output limit.
type controls struct {
	limPct   value // WMaxLimPct, % of WMax
	enabled  bool  // WMaxLim_Ena == ENABLED
	rvrtOK   bool  // WMaxLimPct_RvrtTms implemented
	sf       uint16
	rvrtSecs uint16
}

func decodeControls(regs []uint16) (controls, error) {
	if err := checkBlock(regs, lenControls, ModelControls); err != nil {
		return controls{}, err
	}
	return controls{
		limPct:   u16(regs[5], regs[23]),
		enabled:  regs[9] == 1,
		rvrtOK:   regs[7] != notUint16,
		rvrtSecs: regs[7],
		sf:       regs[23],
	}, nil
}

// storage is model 124, basic storage controls.
type storage struct {
	wChaMax         value // the base of InWRte and OutWRte
	mod             uint16
	minRsvPct       value // % of capacity kept back (MinRsvPct)
	chaState        value // % of capacity
	chaSt           uint16
	outWRte, inWRte value
	ratesOK         bool // InWRte and OutWRte implemented
	rvrtOK          bool
	rateSF          uint16
}

// StorCtl_Mod bits and ChaSt values (124 and 802 share ChaSt).
const (
	modCharge    = 1 << 0
	modDischarge = 1 << 1
	chaStEmpty   = 2
	chaStFull    = 5
)

func decodeStorage(regs []uint16) (storage, error) {
	if err := checkBlock(regs, lenStorage, ModelStorage); err != nil {
		return storage{}, err
	}
	return storage{
		wChaMax:   u16(regs[2], regs[18]),
		mod:       regs[5],
		minRsvPct: u16(regs[7], regs[21]),
		chaState:  u16(regs[8], regs[22]),
		chaSt:     regs[11],
		outWRte:   i16(regs[12], regs[25]),
		inWRte:    i16(regs[13], regs[25]),
		ratesOK:   regs[12] != notInt16 && regs[13] != notInt16,
		rvrtOK:    regs[15] != notUint16,
		rateSF:    regs[25],
	}, nil
}

// battery is model 802, the battery bank.
type battery struct {
	whRtg, wChaRteMax, wDisChaRteMax value
	soc                              value // %
	chaSt                            uint16
	w                                value // positive: discharging (SunSpec's generator sign)
}

func decodeBattery(regs []uint16) (battery, error) {
	if err := checkBlock(regs, lenBattery, ModelBattery); err != nil {
		return battery{}, err
	}
	return battery{
		whRtg:         u16(regs[3], regs[53]),
		wChaRteMax:    u16(regs[4], regs[54]),
		wDisChaRteMax: u16(regs[5], regs[54]),
		soc:           u16(regs[11], regs[56]),
		chaSt:         regs[16],
		w:             i16(regs[47], regs[63]),
	}, nil
}

// derControls is model 704, DER AC controls: the output limit part.
type derControls struct {
	enabled  bool  // WMaxLimPctEna
	limPct   value // WMaxLimPct
	rvrtOK   bool  // WMaxLimPctRvrtTms implemented
	rvrtSecs uint32
	sf       uint16
}

func decodeDERControls(regs []uint16) (derControls, error) {
	if err := checkBlock(regs, lenDERControls, ModelDERControls); err != nil {
		return derControls{}, err
	}
	m := derControls{enabled: regs[14] == 1, limPct: u16(regs[15], regs[54]), sf: regs[54]}
	m.rvrtSecs, m.rvrtOK = u32(regs[18], regs[19])
	return m, nil
}

// meter is models 201 to 204 (one layout for the points used).
type meter struct {
	w, hz, v value // W positive: import
}

func decodeMeter(regs []uint16) (meter, error) {
	if err := checkBlock(regs, lenMeter, ModelMeter1Phase, ModelMeterSplitPhase, ModelMeter3PhaseWye, ModelMeter3PhaseDelta); err != nil {
		return meter{}, err
	}
	v := i16(regs[7], regs[15]) // PhV, the average; PhVphA if absent
	if !v.ok {
		v = i16(regs[8], regs[15])
	}
	return meter{w: i16(regs[18], regs[22]), hz: i16(regs[16], regs[17]), v: v}, nil
}

// mppt is model 160, multiple MPPT inverter extension: one DC power per
// module, with the module's name.
type mppt struct {
	modules []mpptModule
}

type mpptModule struct {
	name string // IDStr
	w    value  // DCW
}

// mpptBlock is how many registers to read for 160 of length l: the fixed
// part and at most maxMPPTModules modules.
func mpptBlock(l uint16) int {
	return min(int(l)+2, lenMPPT+maxMPPTModules*lenMPPTModule)
}

func decodeMPPT(regs []uint16) (mppt, error) {
	if err := checkBlock(regs, lenMPPT, ModelMPPT); err != nil {
		return mppt{}, err
	}
	n := int(regs[8])
	if regs[8] == notUint16 || n > maxMPPTModules {
		return mppt{}, fmt.Errorf("%w: model 160 with %d modules", ErrBadModel, regs[8])
	}
	if need := lenMPPT + n*lenMPPTModule; len(regs) < need || int(regs[1])+2 < need {
		return mppt{}, fmt.Errorf("%w: model 160 of %d modules in %d registers", ErrBadModel, n, min(len(regs), int(regs[1])+2))
	}
	m := mppt{modules: make([]mpptModule, n)}
	for i := range n {
		b := regs[lenMPPT+i*lenMPPTModule:]
		m.modules[i] = mpptModule{name: str(b[1:9]), w: u16(b[11], regs[4])}
	}
	return m, nil
}
