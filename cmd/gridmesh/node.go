package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/sync/errgroup"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/node"
	"github.com/gridmesh/gridmesh/node/homefile"
)

// nodeCmd runs one home from its YAML file until interrupted; `node id`
// prints the home's peer ID (creating its identity key on first use), which
// `gridmesh neighborhood invite --peer` needs.
func nodeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	printID := len(args) > 0 && args[0] == "id"
	if printID {
		args = args[1:]
	}
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "the home's YAML file (see examples/)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error, off")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" || fs.NArg() > 0 {
		return usageError{errors.New("want --config FILE and nothing else")}
	}
	log, err := newLogger(stderr, *logLevel)
	if err != nil {
		return err
	}
	f, err := homefile.Load(*path)
	if err != nil {
		return usageError{err}
	}
	key, err := node.LoadOrCreateKey(f.DataDir)
	if err != nil {
		return err
	}
	self, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return err
	}
	if printID {
		fmt.Fprintln(stdout, self)
		return nil
	}
	home, err := homefile.Build(ctx, f, self.String(), log)
	if err != nil {
		return err
	}
	defer home.Close()
	n, err := node.New(home.Config, node.Deps{
		Key: key, Battery: home.Battery, Meter: home.Meter, PV: home.PV,
		Charger: home.Charger, HeatPump: home.HeatPump, Loads: home.Loads, Logger: log,
	})
	if err != nil {
		return err
	}
	if f.TargetW != nil {
		n.SetTarget(gridmesh.Target{Seq: 1, ImportW: gridmesh.W(*f.TargetW)})
	}
	eg, ctx := errgroup.WithContext(ctx)
	eg.Go(func() error { return n.Run(ctx) })
	for _, run := range home.Runners {
		eg.Go(func() error {
			if err := run(ctx); err != nil && ctx.Err() == nil {
				return err
			}
			return nil
		})
	}
	eg.Go(func() error {
		select {
		case <-n.Ready():
			fmt.Fprintf(stdout, "home %s of %s up: peer %s\n", f.Home, f.Neighborhood, self)
			for _, a := range n.P2PAddrs() {
				fmt.Fprintf(stdout, "  %s\n", a)
			}
			if f.HTTP != "" {
				fmt.Fprintf(stdout, "  status: http://%s/status\n", f.HTTP)
			}
		case <-ctx.Done():
		}
		return nil
	})
	return eg.Wait()
}
