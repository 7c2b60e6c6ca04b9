package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/gridmesh/gridmesh/internal/backoff"
)

// The parts of a home that Run supervises, by the names logs and
// Status's component_restarts give them. The status endpoint and the
// network are supervised apart from the device loop and from each other;
// the network's components share one host, Raft group and set of topics,
// so the failure of one restarts the network whole, counted under the
// component that failed.
const (
	componentHTTP    = "http"    // the status endpoint
	componentNetwork = "network" // the network, when it failed outside any component
	// The network's components (runComponents).
	componentMesh               = "mesh" // the host's bootstrap keeper
	componentTelemetryPublisher = "telemetry_publisher"
	componentPlanReceiver       = "plan_receiver"
	componentTelemetryReceiver  = "telemetry_receiver"
	componentTelemetryListener  = "telemetry_listener"
	componentDispatcher         = "dispatcher"
	componentRegion             = "region"
	componentPauser             = "pauser"
	componentFormation          = "formation"
	componentRevocations        = "revocations"
)

// newRestartCounters returns a zero counter for every component. The map
// is built once, in New, and never changes: its counters are written by
// the component's supervisor and read by Status.
func newRestartCounters() map[string]*atomic.Uint64 {
	m := make(map[string]*atomic.Uint64)
	for _, name := range []string{
		componentHTTP, componentNetwork, componentMesh, componentTelemetryPublisher, componentPlanReceiver,
		componentTelemetryReceiver, componentTelemetryListener, componentDispatcher, componentRegion,
		componentPauser, componentFormation, componentHass,
	} {
		m[name] = new(atomic.Uint64)
	}
	return m
}

// componentError is the failure of one of the network's components.
type componentError struct {
	name string
	err  error
}

func (e *componentError) Error() string { return e.name + ": " + e.err.Error() }
func (e *componentError) Unwrap() error { return e.err }

// errStopped is what a component that returned nil before its context
// ended is said to have failed with: each is meant to run until then.
var errStopped = errors.New("stopped on its own")

// Backoff between restarts of a failed part. Why these: a part that
// fails at once again (a port taken meanwhile, a broken topic) is
// retried within a second or two, then no more than twice a minute, so a
// home with a persistent fault logs it without spinning; the jitter
// keeps homes that lost the same peer from restarting in lock-step.
const (
	restartMin = time.Second
	restartMax = 30 * time.Second
	// restartStable is how long a part must have run before a failure is
	// taken as new rather than as the same fault again: the backoff then
	// starts from restartMin.
	restartStable = time.Minute
)

// supervise runs run until ctx ends, and restarts it, with jittered
// backoff, whenever it returns before then. Each return is a failure,
// logged and counted under name, or under the failed component a
// *componentError names.
func (n *Node) supervise(ctx context.Context, name string, run func(context.Context) error) {
	wait := backoff.New(restartMin, restartMax)
	for {
		began := time.Now()
		err := run(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errStopped
		}
		failed := name
		var ce *componentError
		if errors.As(err, &ce) {
			failed = ce.name
		}
		n.stats.restarts[failed].Add(1)
		if time.Since(began) >= restartStable {
			wait.Reset()
		}
		d := wait.Next()
		n.log.Warn("part of the home failed; the device loop runs on, the part restarts",
			"part", name, "component", failed, "err", err, "restart_in", d)
		if !backoff.Sleep(ctx, d) {
			return
		}
	}
}

// claimPorts makes sure, before anything runs, that the home can listen
// where its configuration says: a port another process holds is a
// configuration error, reported at once and by number, not a fault to
// retry while the home runs without its status endpoint or its
// neighborhood. It listens for the status endpoint (nil when off) and
// checks that the mesh's fixed TCP ports are free (a port of 0 is
// always). The mesh listens later, when the network opens; a port taken
// in between is retried like any failed open.
func (n *Node) claimPorts() (net.Listener, error) {
	if err := probeTCPPorts(n.cfg.Mesh.ListenAddrs); err != nil {
		return nil, err
	}
	if n.cfg.HTTPAddr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", n.cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("status endpoint cannot listen on %s (port %s): %w", n.cfg.HTTPAddr, portOf(n.cfg.HTTPAddr), err)
	}
	n.httpAddr.Store(ln.Addr().String())
	return ln, nil
}

// portOf is addr's port, or addr itself when it has none.
func portOf(addr string) string {
	if _, port, err := net.SplitHostPort(addr); err == nil {
		return port
	}
	return addr
}

// probeTCPPorts listens on, and closes at once, every TCP multiaddr of
// addrs with a fixed port. Closing a listener that accepted nothing
// leaves no socket behind, so the mesh can bind the port right after.
func probeTCPPorts(addrs []string) error {
	for _, s := range addrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			continue // the mesh's own validation reports it
		}
		na, err := manet.ToNetAddr(a)
		if err != nil {
			continue
		}
		tcp, ok := na.(*net.TCPAddr)
		if !ok || tcp.Port == 0 {
			continue
		}
		ln, err := net.ListenTCP("tcp", tcp)
		if err != nil {
			return fmt.Errorf("mesh cannot listen on %s (port %d): %w", s, tcp.Port, err)
		}
		if err := ln.Close(); err != nil {
			return fmt.Errorf("mesh port %d: %w", tcp.Port, err)
		}
	}
	return nil
}

// httpRunner returns the status endpoint's supervised run: the first run
// serves first, the listener claimed at start; a restart listens again
// where the endpoint listened before, so clients find it where they
// did, or where the configuration says when that fails. Only the
// endpoint's supervisor calls it.
func (n *Node) httpRunner(first net.Listener) func(context.Context) error {
	ln := first
	return func(ctx context.Context) error {
		if ln == nil {
			var err error
			if ln, err = n.relisten(); err != nil {
				return err
			}
		}
		defer func() { ln = nil }()
		return n.serveHTTP(ctx, ln)
	}
}

// relisten listens for the status endpoint again.
func (n *Node) relisten() (net.Listener, error) {
	addr := n.HTTPAddr()
	ln, err := net.Listen("tcp", addr)
	if err != nil && addr != n.cfg.HTTPAddr {
		ln, err = net.Listen("tcp", n.cfg.HTTPAddr)
	}
	if err != nil {
		return nil, fmt.Errorf("status endpoint: %w", err)
	}
	n.httpAddr.Store(ln.Addr().String())
	return ln, nil
}
