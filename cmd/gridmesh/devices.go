package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gridmesh/gridmesh/devices/mqtt"
	"github.com/gridmesh/gridmesh/devices/mqtt/mqttsim"
	"github.com/gridmesh/gridmesh/devices/sim"
	"github.com/gridmesh/gridmesh/devices/sunspec/sunspecserver"
	"github.com/gridmesh/gridmesh/node/homefile"
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
	homeFile := fs.String("home", "", "serve the sim device of this home file (its battery, hardware included, PV and load) in place of the default home")
	device := fs.String("device", "", "the sim device of --home to serve (default: the first)")
	models := fs.String("models", "", "the SunSpec models to serve, e.g. 1,103,124,203 for a hybrid without 802 (default: 1,120,103,123,124,802,203)")
	rates := fs.String("storage-rates", "window", "how the device reads model 124's rates: window or net")
	unit := fs.Uint("unit-id", 1, "the Modbus unit ID served")
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
	p, err := simHomeOf(*homeFile, *device)
	if err != nil {
		return err
	}
	cfg, err := sunspecConfigOf(p, *models, *rates, *unit)
	if err != nil {
		return err
	}
	h, err := sunspecserver.NewSimHome(p, time.Now)
	if err != nil {
		return err
	}
	srv, err := sunspecserver.New(cfg, h.Devices(), log)
	if err != nil {
		return err
	}
	if err := srv.Listen(*addr); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "serving a simulated SunSpec hybrid inverter on %s, unit %d ('SunS' at register 40001, 1-based)\n", srv.Addr(), cfg.UnitID)
	err = srv.Run(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// simHomeOf is the sim device named device (or the first) of the home
// file at path, applied to the default served home; that home when path
// is "".
func simHomeOf(path, device string) (sim.HomeParams, error) {
	p := sunspecserver.DefaultSimHome()
	if path == "" {
		if device != "" {
			return p, usageError{errors.New("--device needs --home")}
		}
		return p, nil
	}
	f, err := homefile.Load(path)
	if err != nil {
		return p, usageError{err}
	}
	for _, d := range f.Devices {
		if d.Driver == "sim" && (device == "" || string(d.Name) == device) {
			return d.Sim.SimHome(p), nil
		}
	}
	return p, usageError{fmt.Errorf("%s: no sim device %q", path, device)}
}

// sunspecConfigOf is the served map for p: its models (a comma list; ""
// for the default chain), 124's reading and the unit ID.
func sunspecConfigOf(p sim.HomeParams, models, rates string, unit uint) (sunspecserver.Config, error) {
	cfg := sunspecserver.SimConfig(p)
	if models != "" {
		for m := range strings.SplitSeq(models, ",") {
			id, err := strconv.ParseUint(strings.TrimSpace(m), 10, 16)
			if err != nil {
				return cfg, usageError{fmt.Errorf("--models: %q is not a model number", m)}
			}
			cfg.Models = append(cfg.Models, uint16(id))
		}
	}
	switch rates {
	case "window":
		cfg.StorageRates = sunspecserver.RatesWindow
	case "net":
		cfg.StorageRates = sunspecserver.RatesNet
	default:
		return cfg, usageError{fmt.Errorf("--storage-rates %q: want window or net", rates)}
	}
	if unit < 1 || unit > 247 {
		return cfg, usageError{fmt.Errorf("--unit-id %d outside 1..247", unit)}
	}
	cfg.UnitID = uint8(unit)
	return cfg, nil
}

// serveMQTTCmd puts a simulated home's battery and meter behind an MQTT
// broker, on the topics examples/home-mqtt.yaml reads and writes, until
// interrupted.
func serveMQTTCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devices serve-mqtt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	broker := fs.String("broker", "tcp://127.0.0.1:1883", "MQTT broker URL")
	prefix := fs.String("prefix", "home-1", "topic prefix: PREFIX/battery/state, PREFIX/battery/set, PREFIX/meter/state")
	homeFile := fs.String("home", "", "serve the sim device of this home file (its battery, hardware included, PV and load) in place of the default home")
	device := fs.String("device", "", "the sim device of --home to serve (default: the first)")
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
	p, err := simHomeOf(*homeFile, *device)
	if err != nil {
		return err
	}
	home, err := sim.NewHome(p, time.Now)
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
