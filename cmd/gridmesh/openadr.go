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

	"golang.org/x/sync/errgroup"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/node"
	"github.com/gridmesh/gridmesh/operator/openadr"
	"github.com/gridmesh/gridmesh/testnet"
)

// openadrCmd runs the OpenADR 3 VEN bridge: a host of the operator's in
// the region that polls the VTN, publishes its events as signed signals
// and reports what the region delivered, until interrupted.
func openadrCmd(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("openadr", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := openadr.DefaultConfig()
	fs.StringVar(&cfg.VTN, "vtn", "", "the VTN's base URL (e.g. https://vtn.example/openadr3/3.0.1)")
	fs.StringVar(&cfg.ClientID, "client-id", "", "the VEN's OAuth2 client id")
	secret := fs.String("client-secret", "", "the VEN's OAuth2 client secret (visible to ps: prefer --client-secret-file)")
	secretFile := fs.String("client-secret-file", "", "a file holding the VEN's OAuth2 client secret")
	fs.StringVar(&cfg.TokenURL, "token-url", "", "the OAuth2 token endpoint (default: VTN/auth/token)")
	fs.StringVar(&cfg.ClientName, "client-name", cfg.ClientName, "the VEN's name in its reports")
	fs.StringVar(&cfg.ProgramID, "program", "", "follow this program ID's events only")
	fs.DurationVar(&cfg.PollPeriod, "poll", cfg.PollPeriod, "how often to poll the VTN")
	baselineKW := fs.Float64("baseline-import-kw", 0, "the region's import its capacity limits are measured against, kW")
	simpleKW := fs.Float64("simple-level-kw", 0, "the import cut one SIMPLE level asks, kW")
	of := addOperatorFlags(fs, "operator-key", "info")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if of.missing() || fs.NArg() > 0 {
		return usageError{errors.New("want --vtn URL --client-id ID --client-secret(-file) --operator-key FILE --bootstrap MULTIADDR[,...] --network NAME")}
	}
	cfg.ClientSecret = *secret
	if *secretFile != "" {
		b, err := os.ReadFile(*secretFile)
		if err != nil {
			return fmt.Errorf("client secret: %w", err)
		}
		cfg.ClientSecret = strings.TrimSpace(string(b))
	}
	cfg.Convert = openadr.ConvertConfig{BaselineImportW: gridmesh.W(*baselineKW * 1000), SimpleLevelW: gridmesh.W(*simpleKW * 1000)}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	op, log, err := of.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer op.Close()
	meter := openadr.NewGossipMeter()
	bridge, err := openadr.New(cfg, op, meter, nil, log)
	if err != nil {
		return err
	}
	eg, egCtx := errgroup.WithContext(ctx)
	eg.Go(func() error { return op.Run(egCtx) })
	eg.Go(func() error { return meter.Run(egCtx, op) })
	eg.Go(func() error { return bridge.Run(egCtx) })
	if err := eg.Wait(); err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
		return err // interrupted, the host's closing errors say nothing
	}
	return nil
}

// openadrInCity is the VEN bridge as a testnet's outside operator: its
// host opened with the run's operator key (the pass it presents admits
// it to the region topic of homes that admit members only), entering
// through the run's bootstrap homes, reporting the reduction metered on
// the city's feeders (openadr.FeederMeter) against the city's baseline
// when cfg sets none. wrap, if set, wraps the publisher (a test records
// what was sent).
func openadrInCity(cfg openadr.Config, log *slog.Logger, wrap func(openadr.Publisher) openadr.Publisher) *testnet.OutsideOperator {
	return &testnet.OutsideOperator{Run: func(runCtx context.Context, city testnet.OperatorAccess) error {
		ctx := runCtx
		if cfg.Convert.BaselineImportW == 0 {
			cfg.Convert.BaselineImportW = city.BaselineW
		}
		mcfg := node.OperatorMeshConfig()
		mcfg.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/0"}
		mcfg.Network, mcfg.Region.Name, mcfg.Bootstrap = city.Network, city.Region, city.Bootstrap
		op, err := node.OpenOperator(ctx, mcfg, city.Key, log)
		if err != nil {
			return err
		}
		defer op.Close()
		gossip := openadr.NewGossipMeter()
		var pub openadr.Publisher = op
		if wrap != nil {
			pub = wrap(op)
		}
		bridge, err := openadr.New(cfg, pub, openadr.FeederMeter{BaselineW: cfg.Convert.BaselineImportW, ImportW: city.ImportW, Offer: gossip}, nil, log)
		if err != nil {
			return err
		}
		eg, ctx := errgroup.WithContext(ctx)
		eg.Go(func() error { return op.Run(ctx) })
		eg.Go(func() error { return gossip.Run(ctx, op) })
		eg.Go(func() error {
			if err := op.WaitForHomes(ctx); err != nil {
				return err
			}
			return bridge.Run(ctx)
		})
		err = eg.Wait()
		if runCtx.Err() != nil {
			return runCtx.Err() // stopped: the host's closing errors say nothing
		}
		return err
	}}
}
