package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/gridmesh/gridmesh/devices/sunspec/sunspecserver"
)

// devicesCmd runs `gridmesh devices SUBCOMMAND`.
func devicesCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New("devices: want a subcommand: serve-sunspec")}
	}
	switch args[0] {
	case "serve-sunspec":
		return serveSunSpecCmd(ctx, args[1:], stdout, stderr)
	default:
		return usageError{fmt.Errorf("devices: unknown subcommand %q (known: serve-sunspec)", args[0])}
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
	level, err := parseLevel(*logLevel)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	fmt.Fprintf(stdout, "serving a simulated SunSpec hybrid inverter on %s ('SunS' at register 40001, 1-based)\n", *addr)
	err = sunspecserver.ServeSim(ctx, *addr, log)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
