package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gridmesh/gridmesh/devices/mqtt"
	"github.com/gridmesh/gridmesh/devices/mqtt/mqttsim"
	"github.com/gridmesh/gridmesh/devices/sim"
	"github.com/gridmesh/gridmesh/devices/sunspec/sunspecserver"
)

// devicesCmd runs `gridmesh devices SUBCOMMAND`.
func devicesCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New("devices: want a subcommand: serve-sunspec or serve-mqtt")}
	}
	switch args[0] {
	case "serve-sunspec":
		return serveSunSpecCmd(ctx, args[1:], stdout, stderr)
	case "serve-mqtt":
		return serveMQTTCmd(ctx, args[1:], stdout, stderr)
	default:
		return usageError{fmt.Errorf("devices: unknown subcommand %q (known: serve-sunspec, serve-mqtt)", args[0])}
	}
}

// serveSunSpecCmd serves a simulated hybrid home (PV, battery, meter) as
// a SunSpec device over Modbus TCP until interrupted.
func serveSunSpecCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devices serve-sunspec", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:1502", "Modbus TCP address to listen on (HOST:PORT)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error, off")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	log, err := newLogger(stderr, *logLevel)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "serving a simulated SunSpec hybrid inverter on %s ('SunS' at register 40001, 1-based)\n", *addr)
	err = sunspecserver.ServeSim(ctx, *addr, log)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// serveMQTTCmd puts a simulated home's battery and meter behind an MQTT
// broker, on the topics examples/home-mqtt.yaml reads and writes, until
// interrupted.
func serveMQTTCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devices serve-mqtt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	broker := fs.String("broker", "tcp://127.0.0.1:1883", "MQTT broker URL")
	prefix := fs.String("prefix", "home-1", "topic prefix: PREFIX/battery/state, PREFIX/battery/set, PREFIX/meter/state")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error, off")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	log, err := newLogger(stderr, *logLevel)
	if err != nil {
		return err
	}
	home, err := sim.NewHome(sunspecserver.DefaultSimHome(), time.Now)
	if err != nil {
		return err
	}
	bcfg := mqttsim.DefaultConfig(mqtt.KindBattery)
	bcfg.Device.Broker, bcfg.Device.StateTopic, bcfg.Device.SetTopic = *broker, *prefix+"/battery/state", *prefix+"/battery/set"
	mcfg := mqttsim.DefaultConfig(mqtt.KindMeter)
	mcfg.Device.Broker, mcfg.Device.StateTopic = *broker, *prefix+"/meter/state"
	bsim, err := mqttsim.NewBattery(bcfg, home, log)
	if err != nil {
		return err
	}
	msim, err := mqttsim.NewMeter(mcfg, home, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "serving a simulated battery and meter on %s under %s/\n", *broker, *prefix)
	eg, ctx := errgroup.WithContext(ctx)
	eg.Go(func() error { return bsim.Run(ctx) })
	eg.Go(func() error { return msim.Run(ctx) })
	err = eg.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
