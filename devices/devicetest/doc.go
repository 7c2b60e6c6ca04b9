// Package devicetest is the conformance suite every device driver runs:
// one set of expectations, whatever the protocol behind the driver.
//
// A driver author tests a driver against a simulated device. The driver
// talks its protocol (MQTT, Modbus/SunSpec, …) to the author's own
// simulator, and the simulator fronts a device of a sim.Home. The suite
// then drives the driver and watches the sim.Home, and checks that:
//
//   - readings through the driver match the simulated device within
//     Harness.Tolerance;
//   - a command through the driver reaches the device, and shows in its
//     power (and in the driver's readings), within Harness.Deadline;
//   - out-of-range commands are clamped to the device's limits, not
//     refused (control's interfaces promise that), and non-finite ones
//     are refused with an error;
//   - for the meter, changes of the home and of the grid (voltage,
//     frequency, presence) show through the driver.
//
// Usage, in the driver's test:
//
//	func TestConformance(t *testing.T) {
//		devicetest.Battery(t, func(t *testing.T) devicetest.Harness[devicetest.BatteryDriver] {
//			home := devicetest.NewHome(t)                 // frozen clock: readings hold still
//			srv := startMySimulator(t, home.Devices().Battery) // e.g. a Modbus server
//			drv := mydriver.New(srv.Addr(), ...)              // the driver under test
//			return devicetest.Harness[devicetest.BatteryDriver]{Driver: drv, Home: home}
//		})
//		// … and Meter, PV, Charger, HeatPump, Loads for what the driver supports.
//	}
//
// Some protocols cannot carry every figure; a harness says so explicitly,
// and the suite then checks what the driver must report instead, never a
// looser tolerance:
//
//   - Harness.PVAvailableUnknown: the protocol has no point for what a
//     curtailed array could produce (SunSpec), so the driver reports
//     PVState.AvailableW equal to PowerW, as PVState allows when the
//     inverter cannot tell. The PV suite checks AvailableW == PowerW (so,
//     under curtailment, the curtailed output rather than the potential).
//     The default, false, is strict: AvailableW is the potential.
//
//   - Harness.BatteryPowerHidden: the driver cannot read the battery's
//     power (a device that does not report it, and no other way to
//     derive it) and reports 0. The battery suite checks PowerW == 0 and
//     that setpoints reach the device, by what it delivers
//     (sim.Home.Snapshot's BatteryW).
//
// The battery suite takes what the battery delivers from the home's
// Snapshot, not from what it reports, so it also runs against a
// simulated battery with hardware's manners (sim.BatteryHardware: a
// reaction delay, a ramp, measurement noise within the tolerance, power
// not reported) on a moving clock.
//
// A figure a protocol lacks but a site knows (a battery's round-trip
// efficiency, for the energies behind Flexibility) is the driver's
// configuration, set in the harness to the simulated device's: the suite
// holds every driver to the same energies.
//
// The harness function is called once per subtest, so every check starts
// from a fresh home and driver; release what it starts with t.Cleanup.
// Use NewHome unless there is a reason not to: its clock is frozen at an
// instant where every device has something to show (the sun is up, a car
// is plugged in and wants energy, the house is inside its comfort band,
// part of the load is sheddable), so the simulated figures change only
// when the suite commands them. A home on a moving clock works too if
// its figures drift less than the tolerance within the deadline.
//
// The suites use real time (drivers use real sockets); they poll for a
// condition with a deadline and never sleep a tuned amount.
package devicetest
