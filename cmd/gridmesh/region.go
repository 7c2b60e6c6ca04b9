package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/internal/backoff"
	"github.com/gridmesh/gridmesh/node"
	"github.com/gridmesh/gridmesh/node/regulation"
)

// keygenCmd writes a grid operator's key and prints its public key.
func keygenCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "file to write the operator's private key to (0600; never overwritten)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		return usageError{errors.New("want --out FILE and nothing else")}
	}
	pub, err := node.CreateOperatorKey(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "operator key: %s (keep it off the homes)\npublic key (a home file's operator_keys): %s\n", *out, node.FormatOperatorKey(pub))
	return nil
}

// signalHostTimeout bounds how long `gridmesh signal` waits to reach a
// home of the region: well past a dial and a subscription exchange, well
// short of a wait nobody would notice.
const signalHostTimeout = 30 * time.Second

// signalLinger is how long `gridmesh signal` stays after its last
// publish: a few gossip heartbeats, so the message leaves its queues
// before the host closes.
const signalLinger = 3 * time.Second

// signalCmd signs and publishes a demand-response cut, or a regulation
// signal step by step, through a short-lived host of its own.
func signalCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	req, of, err := parseSignal(args, stderr, time.Now())
	if err != nil {
		return err
	}
	op, _, err := of.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer op.Close()
	eg, ctx := errgroup.WithContext(ctx)
	ctx, stop := context.WithCancel(ctx)
	eg.Go(func() error { return op.Run(ctx) })
	eg.Go(func() error {
		defer stop()
		wctx, cancel := context.WithTimeout(ctx, signalHostTimeout)
		err := op.WaitForHomes(wctx)
		cancel()
		if err != nil {
			return err
		}
		if err := req.publish(ctx, op, stdout); err != nil {
			return err
		}
		backoff.Sleep(ctx, signalLinger) // let the last message leave before the host closes
		return nil
	})
	if err := eg.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// signalRequest is what `gridmesh signal` was asked to send: a cut (sig
// alone) or a regulation signal (sig's capacity, one value a step).
type signalRequest struct {
	sig    gridmesh.Signal
	step   time.Duration
	values []float64
}

// parseSignal reads `gridmesh signal`'s flags, now being the time a
// relative --start counts from.
func parseSignal(args []string, stderr io.Writer, now time.Time) (signalRequest, operatorFlags, error) {
	fs := flag.NewFlagSet("signal", flag.ContinueOnError)
	fs.SetOutput(stderr)
	of := addOperatorFlags(fs, "key", "warn")
	id := fs.String("id", "", "the signal's ID (default: dr-<time> or reg-<time>)")
	cutKW := fs.Float64("cut-kw", 0, "demand response: import cut asked of the region, kW")
	csvPath := fs.String("signal", "", "regulation: CSV of time_s,value rows in [-1, 1] at a fixed step")
	capKW := fs.Float64("capacity-kw", 0, "regulation: capacity asked each way, kW")
	startArg := fs.String("start", "+0s", "when it starts: +DURATION from now, or an RFC 3339 time")
	duration := fs.Duration("duration", 15*time.Minute, "how long it holds (regulation: default the CSV's length)")
	if err := fs.Parse(args); err != nil {
		return signalRequest{}, of, err
	}
	durationSet := false
	fs.Visit(func(f *flag.Flag) { durationSet = durationSet || f.Name == "duration" })
	var req signalRequest
	switch {
	case of.missing() || fs.NArg() > 0:
		return req, of, usageError{errors.New("want --key FILE --bootstrap MULTIADDR[,...] --network NAME and --cut-kw KW or --signal FILE.csv --capacity-kw KW")}
	case (*cutKW > 0) == (*csvPath != ""):
		return req, of, usageError{errors.New("want exactly one of --cut-kw and --signal")}
	case *csvPath != "" && *capKW <= 0:
		return req, of, usageError{errors.New("--signal needs --capacity-kw")}
	}
	start, err := parseStart(*startArg, now)
	if err != nil {
		return req, of, usageError{err}
	}
	req.sig = gridmesh.Signal{ID: *id, Kind: gridmesh.SignalCutImport, AmountW: gridmesh.W(*cutKW * 1000)}
	if *csvPath != "" {
		req.sig.Kind, req.sig.AmountW = gridmesh.SignalRegulation, gridmesh.W(*capKW*1000)
		if req.step, req.values, err = readRegulation(*csvPath); err != nil {
			return req, of, usageError{err}
		}
		if !durationSet {
			*duration = time.Duration(len(req.values)) * req.step
		}
	}
	if *duration <= 0 {
		return req, of, usageError{fmt.Errorf("--duration %v must be positive", *duration)}
	}
	req.sig.StartMs, req.sig.EndMs = start.UnixMilli(), start.Add(*duration).UnixMilli()
	return req, of, nil
}

// publish sends the request through op: a cut once, a regulation signal
// step by step until its window ends.
func (r signalRequest) publish(ctx context.Context, op *node.Operator, stdout io.Writer) error {
	sig, start := r.sig, r.sig.Start()
	if sig.Kind == gridmesh.SignalRegulation {
		sig.ID = cmpOr(sig.ID, fmt.Sprintf("reg-%d", start.Unix()))
		return publishSteps(ctx, op, sig, r.step, r.values, stdout)
	}
	sig.ID = cmpOr(sig.ID, fmt.Sprintf("dr-%d", start.Unix()))
	sent, err := op.Publish(ctx, sig)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "signal %s: cut %v from %s for %v, seq %d, to %d homes in reach\n",
		sent.ID, sent.AmountW, start.UTC().Format(time.RFC3339), sig.End().Sub(start), sent.Seq, op.Homes())
	return nil
}

// publishSteps publishes one regulation step per CSV row at its time from
// the signal's start, re-sending the value in force at least every half
// gridmesh.RegulationStepHoldMs so that it holds, until the window ends.
func publishSteps(ctx context.Context, op *node.Operator, sig gridmesh.Signal, step time.Duration, values []float64, stdout io.Writer) error {
	start, end := sig.Start(), sig.End()
	resend := min(step, gridmesh.RegulationStepHoldMs*time.Millisecond/2)
	sent := 0
	for at := start; at.Before(end); at = at.Add(resend) {
		if !backoff.Sleep(ctx, time.Until(at)) {
			return ctx.Err()
		}
		sig.Value = values[int(at.Sub(start)/step)%len(values)]
		if _, err := op.Publish(ctx, sig); err != nil {
			return err
		}
		sent++
	}
	fmt.Fprintf(stdout, "signal %s: %d regulation steps of %v at %v each way, to %d homes in reach\n",
		sig.ID, sent, step, sig.AmountW, op.Homes())
	return nil
}

// parseStart reads +DURATION (from now) or an RFC 3339 time.
func parseStart(s string, now time.Time) (time.Time, error) {
	if rest, ok := strings.CutPrefix(s, "+"); ok {
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return time.Time{}, fmt.Errorf("--start %q: want +DURATION or an RFC 3339 time", s)
		}
		return now.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--start %q: want +DURATION or an RFC 3339 time", s)
	}
	return t, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// readRegulation reads a regulation signal's CSV file: its step and
// values (regulation.ParseCSV).
func readRegulation(path string) (time.Duration, []float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	return regulation.ParseCSV(f)
}

// operatorFlags are the flags of every command that speaks for the grid
// operator: its key, the homes it enters the region through, the network
// and region names, and the log level.
type operatorFlags struct {
	key, bootstrap, network, region, logLevel *string
}

// addOperatorFlags defines them on fs, the key's flag named keyFlag.
func addOperatorFlags(fs *flag.FlagSet, keyFlag, logLevel string) operatorFlags {
	return operatorFlags{
		key:       fs.String(keyFlag, "", "the operator's key file (gridmesh keygen)"),
		bootstrap: fs.String("bootstrap", "", "comma-separated multiaddrs (with /p2p/ID) of homes to enter the region through"),
		network:   fs.String("network", "", "the deployment's network name (the region)"),
		region:    fs.String("region", "", "the region signals name (default: the network name)"),
		logLevel:  fs.String("log-level", logLevel, "log level: debug, info, warn, error, off"),
	}
}

// missing reports whether a flag the operator cannot go without is unset.
func (f operatorFlags) missing() bool {
	return *f.key == "" || *f.bootstrap == "" || *f.network == ""
}

// open loads the operator's key and opens its host in the region.
func (f operatorFlags) open(ctx context.Context, stderr io.Writer) (*node.Operator, *slog.Logger, error) {
	priv, err := node.LoadOperatorKey(*f.key)
	if err != nil {
		return nil, nil, err
	}
	log, err := newLogger(stderr, *f.logLevel)
	if err != nil {
		return nil, nil, err
	}
	cfg := node.OperatorMeshConfig()
	cfg.Network, cfg.Region.Name = *f.network, *f.region
	cfg.Bootstrap = strings.Split(*f.bootstrap, ",")
	if err := cfg.Validate(); err != nil {
		return nil, nil, usageError{err}
	}
	op, err := node.OpenOperator(ctx, cfg, priv, log)
	if err != nil {
		return nil, nil, err
	}
	return op, log, nil
}
