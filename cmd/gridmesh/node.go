package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/sync/errgroup"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/node"
	"github.com/gridmesh/gridmesh/node/homefile"
)

// nodeCmd runs one home from its YAML file until SIGTERM or SIGINT; `node
// id` prints the home's peer ID (creating its identity key on first use),
// which `gridmesh neighborhood invite --peer` needs.
//
// On SIGTERM or SIGINT (ctx ends) the home stops gracefully: a leader
// first hands its leadership to another voter, waiting at most
// leaveTimeout, so its neighborhood has a new leader within a round trip;
// then the home's context ends and Run closes its topics, Raft and host
// in that order. The device loop runs until then.
//
// SIGKILL (or a crash, or power loss) skips all that. It loses no
// committed plan and no Raft vote: the Raft log and stable store are
// raft-boltdb files under data_dir/raft, written with fsync before raft
// acts on them, so the home restarts as the same member with the same
// log (its identity key is in data_dir too). What it loses is the
// handover: if it led, the others wait out a heartbeat timeout and an
// election before plans resume, following their current plan until its
// lease runs out meanwhile; a plan it had made but not yet committed
// (the new leader makes the next one); and what it kept only in memory
// (the telemetry heard, the region's signals, its counters). Its
// devices keep the last command it gave them until it runs again, or
// until a device's own fallback takes over.
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
		MissingKinds: home.MissingKinds,
	})
	if err != nil {
		return err
	}
	if f.TargetW != nil {
		n.SetTarget(gridmesh.Target{Seq: 1, ImportW: gridmesh.W(*f.TargetW)})
	}
	return runHome(ctx, n, home, func() {
		fmt.Fprintf(stdout, "home %s of %s up: peer %s\n", f.Home, f.Neighborhood, self)
		for _, a := range n.P2PAddrs() {
			fmt.Fprintf(stdout, "  %s\n", a)
		}
		if f.HTTP != "" {
			fmt.Fprintf(stdout, "  status: http://%s/status\n", n.HTTPAddr())
		}
	}, log)
}

// runHome runs the home n and its devices' runners until ctx ends and
// the leader, if n leads, has handed over; up is called once the home is
// ready.
func runHome(ctx context.Context, n *node.Node, home *homefile.Home, up func(), log *slog.Logger) error {
	// The home runs on its own context, which a signal (ctx) ends only
	// after the handover.
	homeCtx, stopHome := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHome()
	eg, homeCtx := errgroup.WithContext(homeCtx)
	eg.Go(func() error { return n.Run(homeCtx) })
	for _, run := range home.Runners {
		eg.Go(func() error {
			if err := run(homeCtx); err != nil && homeCtx.Err() == nil {
				return err
			}
			return nil
		})
	}
	eg.Go(func() error {
		handOverOnSignal(ctx, homeCtx, n, leaveTimeout, stopHome, log)
		return nil
	})
	if home.CertificateFile != "" {
		eg.Go(func() error { return n.WatchCertificate(homeCtx, home.CertificateFile) })
	}
	eg.Go(func() error {
		select {
		case <-n.Ready():
			up()
		case <-homeCtx.Done():
		}
		return nil
	})
	return eg.Wait()
}

// leaveTimeout bounds a leader's handover on SIGTERM or SIGINT. Why 5 s:
// a transfer takes a round trip and an election among voters that are
// up to date (an election timeout is 200 ms at LAN timing, 1 s at WAN
// timing), so one that has not happened in 5 s will not; and it leaves
// half of the 10 s docker stop allows before SIGKILL (systemd allows 90
// s, Kubernetes 30 s) for closing Raft and the host.
const leaveTimeout = 5 * time.Second

// leaver is what a graceful stop asks of a home.
type leaver interface {
	Leave(ctx context.Context) error
}

// handOverOnSignal waits until sig ends (SIGTERM or SIGINT) or the home
// stops on its own (home ends). On a signal it asks the home to hand its
// leadership over, waiting at most timeout, then stops the home with
// stop. A failed handover is logged: the home stops anyway, a hard stop
// as far as its neighborhood can tell.
func handOverOnSignal(sig, home context.Context, h leaver, timeout time.Duration, stop context.CancelFunc, log *slog.Logger) {
	select {
	case <-home.Done():
		return
	case <-sig.Done():
	}
	defer stop()
	ctx, cancel := context.WithTimeout(home, timeout)
	defer cancel()
	if err := h.Leave(ctx); err != nil {
		log.Warn("stopping without handing leadership over", "err", err)
	}
}
