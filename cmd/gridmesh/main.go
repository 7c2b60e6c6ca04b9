// Command gridmesh is the gridmesh command line: `gridmesh testnet` starts
// a city of homes on this machine.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `gridmesh: a peer-to-peer virtual power plant

Usage:
  gridmesh node --config FILE             run one home from its YAML file
  gridmesh node id --config FILE          print the home's peer ID (for neighborhood invite)
  gridmesh testnet [flags]                start a city of homes on this machine and report
  gridmesh lab [flags]                    start a city of home processes in network namespaces
                                          over shaped links, inject OS faults, report (root)
  gridmesh devices serve-sunspec [flags]  serve a simulated SunSpec inverter over Modbus TCP
  gridmesh devices serve-mqtt [flags]     serve a simulated battery and meter through an MQTT broker
  gridmesh neighborhood init --id ID --out DIR
                                          create a neighborhood's membership key pair
  gridmesh neighborhood invite --key FILE --peer PEERID --home HOMEID [--valid 8760h] --out FILE
                                          issue a home's membership certificate
  gridmesh keygen --out FILE              create a grid operator's signing key, print its public key
  gridmesh signal --key FILE --bootstrap MULTIADDR[,...] --network NAME
                  (--cut-kw X | --signal FILE.csv --capacity-kw X) [--start +0s] [--duration 15m]
                                          sign and publish a regional signal
  gridmesh openadr --vtn URL --client-id ID --client-secret-file FILE --operator-key FILE
                   --bootstrap MULTIADDR[,...] --network NAME (--baseline-import-kw X | --simple-level-kw X)
                                          bridge an OpenADR 3 VTN's events to signed regional signals
  gridmesh archive --dir DIR --data-dir DIR --network NAME --bootstrap MULTIADDR[,...]
                   --neighborhood ID[:PUBFILE:CERTFILE] [...] [--operator-key KEY] [--roll 1h]
                                          write the neighborhoods' telemetry, plans and the
                                          region's signals as Parquet files (docs/ARCHIVE.md)
  gridmesh archive id --data-dir DIR --neighborhood ID [...]
                                          print the archiver's peer ID in each neighborhood
  gridmesh status [--addr HOST:PORT]      print a running home's state
  gridmesh settings --token-file F [--addr HOST:PORT] [reserve=30] [opt-out=next|off] [pause=2h|on|off]
                                          show or change the owner's settings
  gridmesh healthcheck [--addr HOST:PORT] exit 0 if the home at HOST:PORT answers /healthz
  gridmesh attack-flood                   the testnet's flooding member as a process of its own
                                          (gridmesh testnet starts it; spec on stdin)
  gridmesh version                        print the version, commit and platform
  gridmesh forecast --history FILE.csv [--horizon 24h] [--pv-peak-w W --lat 52 --lon 0]
                                          print a home's load and PV forecast from its history
  gridmesh help                           this text

Run 'gridmesh COMMAND -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "testnet":
		err = testnetCmd(ctx, args[1:], stdout, stderr)
	case "archive":
		err = archiveCmd(ctx, args[1:], stdout, stderr)
	case "lab":
		err = labCmd(ctx, args[1:], stdout, stderr)
	case "node":
		err = nodeCmd(ctx, args[1:], stdout, stderr)
	case "devices":
		err = devicesCmd(ctx, args[1:], stdout, stderr)
	case "neighborhood":
		err = neighborhoodCmd(ctx, args[1:], stdout, stderr)
	case "status":
		err = statusCmd(ctx, args[1:], stdout, stderr)
	case "settings":
		err = settingsCmd(ctx, args[1:], stdout, stderr)
	case "keygen":
		err = keygenCmd(args[1:], stdout, stderr)
	case "signal":
		err = signalCmd(ctx, args[1:], stdout, stderr)
	case "healthcheck":
		err = healthcheckCmd(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		err = versionCmd(stdout)
	case "forecast":
		err = forecastCmd(args[1:], stdout, stderr)
	case "openadr":
		err = openadrCmd(ctx, args[1:], stderr)
	case "attack-flood":
		err = attackFloodCmd(ctx, os.Stdin, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "gridmesh: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "gridmesh %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(stderr, "gridmesh %s: %v\n", args[0], err)
		return 1
	}
}

// usageError is a mistake in the command line.
type usageError struct{ error }

// levelOff is a level above every message: nothing is logged.
const levelOff = slog.LevelError + 4

// parseLevel reads debug, info, warn, error or off.
func parseLevel(s string) (slog.Level, error) {
	if strings.EqualFold(s, "off") {
		return levelOff, nil
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return 0, usageError{fmt.Errorf("log level %q: want debug, info, warn, error or off", s)}
	}
	return l, nil
}

// newLogger logs to w at the named level (debug, info, warn, error, off).
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	l, err := parseLevel(level)
	if err != nil {
		return nil, err
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
