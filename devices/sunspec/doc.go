// Package sunspec drives SunSpec devices (PV and hybrid inverters,
// batteries, meters) over Modbus TCP, with github.com/simonvetter/modbus.
//
// It owns the decoding of the SunSpec register map, as pure functions
// fuzzed on garbage (registers.go, models.go, convert.go): finding the
// "SunS" marker at holding register 40000, 0 or 50000 (0-based; "40001"
// in 1-based manuals), walking the chain of models [ID, L, points…] to
// the end marker 0xFFFF with bounds on length and count, and decoding the
// models it uses into typed values with their scale factors applied.
// Not-implemented values (0x8000 int16 and scale factors, 0xFFFF uint16
// and enums) are absent, never numbers. And it owns the driver: Dial,
// Device and the capability views Battery, Meter and PV.
//
// A Dial that fails says its likely cause before the error: no answer
// from the unit ID (a wrong unit ID is the commonest mistake: SunSpec
// inverters answer on 1 or 126, a gateway puts each device behind its
// own), nothing accepting Modbus TCP at the address, or a device that
// answers without a SunSpec map. Dial does not retry: its caller (the
// home file's runner) looks for the device again with backoff.
//
// # Capabilities
//
// A device is an inverter, a battery, a meter or any mix, so Device has
// no capability methods of its own; it hands out views that it has only
// when its models support them:
//
//   - BatteryView: model 124 (basic storage controls), with 802 (battery)
//     when present. Battery reads SoC (802, else 124's ChaState), the
//     limits (124's WChaMax; 802's or 120's discharge rating), the power
//     and the capacity (802, else 120). The power is 802's W; a device
//     without it (or with W not implemented) is read from 160's storage
//     modules, charge less discharge (modules named "StCha…" and
//     "StDisCha…", as Fronius GEN24 names them, as integrators who read
//     them report), else on a hybrid from 103: its DC input DCW less its
//     AC output W, what stays in the battery (the inverter's losses, a
//     few per cent of the throughput, count as charging; a device whose
//     DCW is not its PV input needs 802 or 160). Without any of them the
//     power reads 0. Stats.BatteryPowerSource says which source the
//     newest reading used. The energies
//     behind it are at the home's bus: ChargeWh is (1 − SoC) × capacity
//     over √η, DischargeWh is (SoC − reserve) × capacity times √η, never
//     negative, where the reserve is 124's MinRsvPct (none when not
//     implemented) and η is Config.RoundTripEfficiency (SunSpec has no
//     point for it: set the battery's datasheet figure; the default is
//     90 %). SetBatteryPower sets StorCtl_Mod to both limits and the
//     rates as a percentage p of WChaMax, the way Config.StorageRates says
//     the device reads them (below). Both rates are taken as percentages
//     of WChaMax, as common hybrid inverters read them (124 names a
//     WDisChaMax for OutWRte that no model defines).
//   - MeterView: a meter model, 201 to 204. Meter's NetW is the meter's W,
//     positive importing. A device without a meter model has no MeterView:
//     an inverter's AC output (103's W) is not the home's net import, which
//     takes the household load; use a separate meter (a SunSpec meter, often
//     on its own unit ID, or another driver's).
//   - PVView: an inverter model (101 to 103), an output limit (704, else
//     123) and a rating (121's WMax, else 120's WRtg) whose percentage the
//     limit is. PV's PowerW is the inverter's AC output plus what its
//     battery takes in (802's W), since a hybrid's AC output is PV less
//     charging; AvailableW equals PowerW, curtailed or not, since SunSpec
//     has no point for what the array could produce (the driver runs the
//     devicetest PV suite with Harness.PVAvailableUnknown). SetPVLimit
//     writes WMaxLimPct and enables it (a limit at or above the rating
//     disables it; a non-finite one is refused).
//
// # Model 124's rates: window or net
//
// SunSpec defines InWRte and OutWRte as the largest charge and discharge
// rates; devices read them two ways, and the driver cannot tell which
// from the registers, so Config.StorageRates (home file: storage_rates)
// says:
//
//   - window (the default): the rates bound a window, [-OutWRte,
//     InWRte], a negative rate forcing the other direction; the battery
//     does its own control within it. The driver holds p by InWRte = p,
//     OutWRte = -p (discharging: OutWRte = p, InWRte = -p). Fronius
//     hybrids (Symo GEN24, Symo Hybrid) read the rates so: with
//     StorCtl_Mod 3, OutWRte 100 % runs the battery normally, 0 % holds
//     it and -100 % charges it from the grid, as integrators who steer
//     them report (the evcc project's Fronius GEN24 template and its
//     users' reports on the Symo Hybrid); we have not tested one.
//   - net: the rates are the setpoint, the battery charging at InWRte
//     less OutWRte. The driver holds p by InWRte = p, OutWRte = 0
//     (discharging: OutWRte = p, InWRte = 0). Integrators report devices
//     that read them so; we know of no vendor document that says it, so
//     take it as per device.
//
// A window setpoint on a net device charges at twice the setpoint (p less
// -p); a net setpoint on a window device only caps the battery's own
// control. Check a device with one small step: a battery at twice the
// step reads net. The sunspecserver serves either reading
// (sunspecserver.Config.StorageRates), and the conformance suite runs
// against both.
//
// # Writes
//
// A setpoint (SetBatteryPower, SetPVLimit) is held, and written when the
// write policy says so (writes.go): when it moved by Config.DeadbandW or
// more and its registers change, at most once per
// Config.MinWriteInterval for the whole device (battery and PV share it;
// the one that waited longer goes first), and again at half
// Config.ReversionTimeout while it is held. The registers that put it in
// force (124's StorCtl_Mod and InOutWRte_RvrtTms, 123's
// WMaxLimPct_RvrtTms, 704's WMaxLimPctEnaRvrt and WMaxLimPctRvrtTms) are
// written once per connection, and again when a reading shows the device
// dropped them (it reverted); an enable (123's WMaxLim_Ena, 704's
// WMaxLimPctEna) when it flips. Writes happen during any call to the
// device, readings included: callers holding a setpoint must keep
// calling the device (a guard polls it). Stats counts the writes.
//
// Every setpoint is written with Config.ReversionTimeout as its reversion
// time where the device implements one (with no limit after reversion for
// 704): a device that hears nothing more from gridmesh returns to its own
// control. Release (on Battery and PV) hands it back at once: StorCtl_Mod
// cleared and both rates at 100 %, the PV limit's enable cleared.
//
// Sign conventions: gridmesh's load convention throughout the API
// (battery power positive charging, net power positive importing).
// SunSpec's 802 W is taken as positive discharging, the generator sign of
// SunSpec's inverter models, which the specification does not state for
// 802.
//
// # Calls
//
// Every method does its Modbus I/O there and then, and returns within
// Config.Timeout: it runs on a worker goroutine, and a caller whose time
// is up gets its error while the worker finishes its request (the library
// bounds each by Timeout) and makes no further ones. Calls are carried
// out one at a time; a few may wait, more fail at once. They block, so
// the caller must keep them off the control loop (the guard does).
//
// Errors are *gridmesh.DeviceError. Timeouts, dropped connections,
// garbled frames and busy devices are Retryable and wrap
// gridmesh.ErrUnavailable; after one that leaves the connection in doubt
// the next call reconnects and discovers the device again (it may have
// been updated). Missing models (ErrModelMissing), malformed or
// out-of-range values (ErrBadModel), requests the device refuses with a
// Modbus exception (ErrRefused) and bad commands (ErrBadCommand) are
// permanent.
//
// # Checking a device by hand
//
// sunspecserver.ServeSim serves a simulated hybrid home (`gridmesh
// devices serve-sunspec --addr 127.0.0.1:1502`). mbpoll reads its marker
// and model 1's header (1-based register numbers, so 40001 is 40000):
//
//	mbpoll -m tcp -a 1 -r 40001 -c 4 -t 4:hex 127.0.0.1 -p 1502 -1
//	[40001]: 0x5375
//	[40002]: 0x6E53
//	[40003]: 0x0001
//	[40004]: 0x0042
//
// With the default chain (1, 120, 103, 123, 124, 802, 203 from 40002),
// model 124 starts at 40177 (1-based). Holding the battery at 30 % of
// WChaMax charging, with a 30 s reversion time, then reading 802's W
// (40250) and 203's W (40285):
//
//	mbpoll -m tcp -a 1 -p 1502 -r 40189 -t 4 127.0.0.1 62536 3000  # OutWRte -30.00 %, InWRte 30.00 %
//	mbpoll -m tcp -a 1 -p 1502 -r 40192 -t 4 127.0.0.1 30          # InOutWRte_RvrtTms
//	mbpoll -m tcp -a 1 -p 1502 -r 40182 -t 4 127.0.0.1 3           # StorCtl_Mod: both limits
//	mbpoll -m tcp -a 1 -p 1502 -1 -r 40250 -c 1 -t 4 127.0.0.1     # 64036 (-1500): charging 1.5 kW
//
// mbpoll takes no negative numbers for 16-bit registers: write -3000 as
// 62536. 30 s after the last write the server reverts StorCtl_Mod to 0.
package sunspec
