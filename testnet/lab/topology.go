package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

// routerAddr is the router namespace's own address: the lab polls homes
// from it.
//
// The city's addresses (11.77.0.0/16) are ones libp2p takes for public:
// AutoNAT answers only for public addresses, a relay offers only its
// public ones, and hole punching uses only public ones, so a lab on a
// private range (10/8, 100.64/10) would judge every home unreachable and
// relay nothing. They never leave the lab: the router namespace has no
// route out, and the machine's own namespace no route in.
const routerAddr = "11.77.0.1"

// statusPort is where every home serves /status, on its own address.
const statusPort = 8080

// p2pPort is every home's libp2p TCP port, on its own address.
const p2pPort = 4001

// nftTable is the router's nftables table: a set of cut-off addresses
// and a forward chain that drops what crosses its border. A partition
// fills the set; healing flushes it.
const nftTable = `table inet gmlab {
	set cut {
		type ipv4_addr
	}
	chain forward {
		type filter hook forward priority 0; policy accept;
		ip saddr @cut ip daddr != @cut counter drop
		ip daddr @cut ip saddr != @cut counter drop
	}
}
`

// network is the lab's namespaces and links. Owned by Run's goroutine;
// its links run in goroutines it waits for in close.
type network struct {
	run    string
	router string // router namespace
	homes  []*homeNet
	cancel context.CancelFunc
	wg     sync.WaitGroup
	errs   chan error
}

// homeNet is one home's namespace and link.
type homeNet struct {
	ns   string
	addr string      // 11.77.n.j: the home's, or its NAT's uplink's
	nat  string      // NAT namespace; "" for a public home
	tuns [2]*os.File // home (or NAT) side, router side
	up   linkStats   // packets the home sent
	down linkStats   // packets to the home
	// upImp and downImp are laid over each direction by the scenarios
	// (faults.go); nil is none.
	upImp, downImp atomic.Pointer[Impairment]
}

// nsName names a namespace of run: "gml-<run>-<what>".
func nsName(run, what string) string { return "gml-" + run + "-" + what }

// homeAddr is home j of neighborhood n (both from 0)'s address.
func homeAddr(n, j int) string { return fmt.Sprintf("11.77.%d.%d", n+1, j+2) }

// buildNetwork creates the router and one namespace and link per home
// (addrs[i] is home i's address as the router sees it); a home with
// nat[i] gets a NAT namespace between it and its link. On error it
// removes what it made.
func buildNetwork(ctx context.Context, run string, addrs []string, nat []bool, prof Profile, seed uint64) (_ *network, err error) {
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	nw := &network{run: run, router: nsName(run, "r"), cancel: cancel, errs: make(chan error, 2*len(addrs))}
	defer func() {
		if err != nil {
			err = errors.Join(err, nw.close(context.WithoutCancel(ctx)))
		}
	}()
	if err := nw.buildRouter(ctx); err != nil {
		return nw, err
	}
	for i, a := range addrs {
		h := &homeNet{ns: nsName(run, fmt.Sprintf("h%d", i)), addr: a}
		nw.homes = append(nw.homes, h)
		build := nw.buildHome
		if nat[i] {
			build = nw.buildNATHome
		}
		if err := build(ctx, i, h); err != nil {
			return nw, err
		}
		nw.startLink(lctx, h, prof, seed+uint64(i))
	}
	return nw, nil
}

func (nw *network) buildRouter(ctx context.Context) error {
	if err := ipCmd(ctx, "netns", "add", nw.router); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"-n", nw.router, "link", "set", "lo", "up"},
		{"-n", nw.router, "addr", "add", routerAddr + "/32", "dev", "lo"},
	} {
		if err := ipCmd(ctx, args...); err != nil {
			return err
		}
	}
	if err := inNetns(nw.router, func() error {
		return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0)
	}); err != nil {
		return fmt.Errorf("router forwarding: %w", err)
	}
	return nftCmd(ctx, nw.router, nftTable)
}

// buildHome makes home i's namespace and its two TUN ends.
func (nw *network) buildHome(ctx context.Context, i int, h *homeNet) error {
	if err := ipCmd(ctx, "netns", "add", h.ns); err != nil {
		return err
	}
	var err error
	if h.tuns[0], err = openTUN(h.ns, "uplink"); err != nil {
		return err
	}
	rdev := fmt.Sprintf("h%d", i)
	if h.tuns[1], err = openTUN(nw.router, rdev); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"-n", h.ns, "link", "set", "lo", "up"},
		{"-n", h.ns, "link", "set", "uplink", "mtu", fmt.Sprint(mtu), "up"},
		{"-n", h.ns, "addr", "add", h.addr + "/32", "dev", "uplink"},
		{"-n", h.ns, "route", "add", "default", "dev", "uplink"},
		{"-n", nw.router, "link", "set", rdev, "mtu", fmt.Sprint(mtu), "up"},
		{"-n", nw.router, "route", "add", h.addr + "/32", "dev", rdev},
	} {
		if err := ipCmd(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// startLink carries h's packets: shaped from the home, unshaped to it.
func (nw *network) startLink(ctx context.Context, h *homeNet, prof Profile, seed uint64) {
	nw.wg.Add(2)
	go func() {
		defer nw.wg.Done()
		if err := carry(ctx, h.tuns[0], h.tuns[1], prof, seed, &h.upImp, &h.up); err != nil {
			nw.errs <- fmt.Errorf("link %s up: %w", h.ns, err)
		}
	}()
	go func() {
		defer nw.wg.Done()
		if err := carry(ctx, h.tuns[1], h.tuns[0], Profiles["lan"], seed, &h.downImp, &h.down); err != nil {
			nw.errs <- fmt.Errorf("link %s down: %w", h.ns, err)
		}
	}()
}

// cut makes addrs one side of a partition (nil heals every partition).
func (nw *network) cut(ctx context.Context, addrs []string) error {
	script := "flush set inet gmlab cut\n"
	if len(addrs) > 0 {
		script += "add element inet gmlab cut { "
		for i, a := range addrs {
			if i > 0 {
				script += ", "
			}
			script += a
		}
		script += " }\n"
	}
	return nftCmd(ctx, nw.router, script)
}

// close stops the links, removes the TUN devices and deletes every
// namespace. Processes inside must have ended: a namespace lives on
// while a process holds it.
func (nw *network) close(ctx context.Context) error {
	nw.cancel()
	var errs []error
	for _, h := range nw.homes {
		for _, f := range h.tuns {
			if f != nil {
				f.Close()
			}
		}
	}
	nw.wg.Wait()
	close(nw.errs)
	for err := range nw.errs {
		errs = append(errs, err)
	}
	for _, h := range nw.homes {
		errs = append(errs, delNetns(ctx, h.ns))
		if h.nat != "" {
			errs = append(errs, delNetns(ctx, h.nat))
		}
	}
	errs = append(errs, delNetns(ctx, nw.router))
	return errors.Join(errs...)
}

// delNetns deletes a namespace if it exists.
func delNetns(ctx context.Context, ns string) error {
	if _, err := os.Stat("/run/netns/" + ns); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return ipCmd(ctx, "netns", "del", ns)
}
