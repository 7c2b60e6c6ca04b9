// Package sunspecserver serves devices as a SunSpec device over Modbus
// TCP (with github.com/simonvetter/modbus): the peer the sunspec driver's
// tests, the testnet and `gridmesh devices serve-sunspec` talk to.
//
// A Server renders its devices (Battery, Meter, PV: the method sets of
// package control's interfaces, so a devices/sim home serves as is) into
// a register map on every read, and applies writes to them:
//
//	base+0   "SunS"            0x5375 0x6e53
//	base+2   1   common        L 66: Mn, Md, Opt, Vr "1.0", SN, DA
//	base+70  120 nameplate     L 26: WRtg, WHRtg, MaxChaRte, MaxDisChaRte
//	base+98  103 inverter      L 50: W (AC out: PV - battery charge), Hz, PhV, DCW (PV), St
//	base+150 123 controls      L 24: WMaxLimPct (SF -1), _RvrtTms, WMaxLim_Ena
//	base+176 124 storage       L 24: WChaMax, StorCtl_Mod, MinRsvPct (Config's, SF -1),
//	                                 ChaState (SF -1), ChaSt, OutWRte, InWRte (SF -2),
//	                                 InOutWRte_RvrtTms
//	base+202 802 battery       L 62: WHRtg (SF 1), rates, SoC (SF -1), ChaSt, W (+: discharge)
//	base+266 203 meter         L 105: W (+: import), PhV, Hz
//	base+373 end               0xFFFF 0
//
// That is the default chain for a hybrid home at the default base 40000;
// Config.Models picks another (704 DER controls in place of or beside 123,
// 160 with the PV array and the battery as MPPT modules "String 1",
// "StCha 2" and "StDisCha 3", a chain without 802 for a battery that does
// not report its power there, a battery alone, …) and Config.Base 0 or
// 50000. Config.StorageRates says how the server reads 124's rates: as a
// window (default) or as the setpoint (net). Writes counts the write
// requests, for tests of how often a driver writes. Powers are served to
// the watt with a scale factor of 0 up to 32767 W and a positive one
// beyond; unmodelled points hold SunSpec's not-implemented values.
//
// Writes are accepted only at the control points above (123's and 124's
// window and ramp times too, ignored; not MinRsvPct, which is read-only)
// and at 704's WMaxLimPctEna, WMaxLimPct, WMaxLimPctRvrt,
// WMaxLimPctEnaRvrt and WMaxLimPctRvrtTms, checked whole before any is
// applied: anything else is an illegal data address, a value out of
// range an illegal data value. The battery is steered to the fallback
// (self-consumption: the meter at 0 W; or idle) clamped to the window 124
// sets; the PV inverter to the limit in force. A setpoint not written
// again within its reversion time reverts, as on a real inverter: 124 to
// no limits, the PV limit off (or to 704's reversion values).
//
// Callers must: Listen, then Run (Listen already answers requests; Run
// applies reversions and the fallback every tick and stops the listener
// when its context ends). Only unit Config.UnitID is answered. Stall
// simulates a hung device for tests.
package sunspecserver
