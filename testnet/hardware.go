package testnet

import (
	"time"

	"github.com/gridmesh/gridmesh/devices/sim"
)

// DeviceLikeBattery is the battery hardware Config.DeviceLike gives every
// home (sim.BatteryHardware; each home's noise seeded apart): a battery
// that starts to move 0.3 s after a command, ramps at 2 kW/s and reports
// its power with 50 W of noise (σ).
//
// Where the figures come from: they are the manners node's loop is
// measured against (node/loop_hardware_test.go, BENCHMARKS.md "The loop
// on devices that ramp, lag and hide their power") and the example
// Modbus and MQTT homes serve (cmd/gridmesh's end-to-end tests). They are
// assumptions, not read off a datasheet: the home-battery manuals at
// hand (Kostal PLENTICORE's and SMA Sunny Boy Storage's Modbus battery
// control) say how to command the power, not how fast it follows. 0.3 s
// leaves room for a Modbus TCP write and an inverter's control cycle;
// 2 kW/s takes a 5 kW battery across its range in 5 s; 50 W is 1 % of
// 5 kW, an IEC 62053-21 class 1 meter's error at full scale. A device
// measured otherwise should replace them.
var DeviceLikeBattery = sim.BatteryHardware{RampWPerS: 2_000, ReactionDelay: 300 * time.Millisecond, NoiseW: 50}

// withHardware is b with cfg's battery hardware (none unless
// cfg.DeviceLike), its noise seeded for home i of the run's seed.
func (c Config) withHardware(b sim.BatteryParams, i int) sim.BatteryParams {
	if !c.DeviceLike {
		return b
	}
	b.Hardware = DeviceLikeBattery
	b.Hardware.NoiseSeed = uint64(c.Seed)<<16 ^ uint64(i)
	return b
}
