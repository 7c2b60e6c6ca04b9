package lab

import (
	"context"
	"fmt"
	"os"
)

// A home behind NAT sits on its own LAN behind its own router, as most
// homes do: the home's namespace reaches a NAT namespace over a veth pair,
// and the NAT namespace holds the shaped uplink to the city's router.
// Every home behind NAT has the same LAN addresses, as home routers do.
const (
	natLANHome = "192.168.1.2" // the home, on its LAN
	natLANGW   = "192.168.1.1" // its router's LAN side
)

// natTable is a home router's nftables: masquerade on the uplink (source
// ports kept where free, as Linux-based home routers do; no port
// forwarding, no UPnP) and a stateful firewall that forwards from the LAN
// out, answers back in, and drops whatever arrives unsolicited from the
// uplink, for the LAN or for the router itself.
const natTable = `table ip gmnat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "uplink" masquerade
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "lan" oifname "uplink" accept
	}
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iifname { "lo", "lan" } accept
	}
}
`

// pickNAT chooses which of the homes (nbOf[i] is home i's neighborhood,
// k neighborhoods) sit behind NAT: n of them, dealt over the
// neighborhoods in turn, each time the last home of the neighborhood not
// yet behind NAT. A neighborhood's first home always stays public: it is
// every other home's bootstrap peer, and nobody can dial a home behind
// NAT. It fails when n exceeds the homes that may be behind NAT.
func pickNAT(nbOf []int, k, n int) ([]bool, error) {
	nat := make([]bool, len(nbOf))
	members := make([][]int, k)
	for i, nb := range nbOf {
		members[nb] = append(members[nb], i)
	}
	left := make([]int, k) // homes of each neighborhood that may still go behind NAT
	room := 0
	for nb := range k {
		left[nb] = max(0, len(members[nb])-1)
		room += left[nb]
	}
	if n > room {
		return nil, fmt.Errorf("nat homes %d: at most %d (every neighborhood keeps its first home public)", n, room)
	}
	for nb := 0; n > 0; nb = (nb + 1) % k {
		if left[nb] == 0 {
			continue
		}
		nat[members[nb][left[nb]]] = true
		left[nb]--
		n--
	}
	return nat, nil
}

// natNS names home i's NAT namespace.
func (nw *network) natNS(i int) string { return nsName(nw.run, fmt.Sprintf("n%d", i)) }

// buildNATHome makes home i's namespace, its NAT namespace, the veth
// between them, and the NAT's two TUN ends (its uplink and the router's).
func (nw *network) buildNATHome(ctx context.Context, i int, h *homeNet) error {
	h.nat = nw.natNS(i)
	for _, ns := range []string{h.ns, h.nat} {
		if err := ipCmd(ctx, "netns", "add", ns); err != nil {
			return err
		}
	}
	var err error
	if h.tuns[0], err = openTUN(h.nat, "uplink"); err != nil {
		return err
	}
	rdev := fmt.Sprintf("h%d", i)
	if h.tuns[1], err = openTUN(nw.router, rdev); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"-n", h.nat, "link", "add", "lan", "type", "veth", "peer", "name", "eth0", "netns", h.ns},
		{"-n", h.nat, "link", "set", "lo", "up"},
		{"-n", h.nat, "link", "set", "uplink", "mtu", fmt.Sprint(mtu), "up"},
		{"-n", h.nat, "addr", "add", h.addr + "/32", "dev", "uplink"},
		{"-n", h.nat, "route", "add", "default", "dev", "uplink"},
		{"-n", h.nat, "addr", "add", natLANGW + "/24", "dev", "lan"},
		{"-n", h.nat, "link", "set", "lan", "mtu", fmt.Sprint(mtu), "up"},
		{"-n", h.ns, "link", "set", "lo", "up"},
		{"-n", h.ns, "addr", "add", natLANHome + "/24", "dev", "eth0"},
		{"-n", h.ns, "link", "set", "eth0", "mtu", fmt.Sprint(mtu), "up"},
		{"-n", h.ns, "route", "add", "default", "via", natLANGW},
		{"-n", nw.router, "link", "set", rdev, "mtu", fmt.Sprint(mtu), "up"},
		{"-n", nw.router, "route", "add", h.addr + "/32", "dev", rdev},
	} {
		if err := ipCmd(ctx, args...); err != nil {
			return err
		}
	}
	if err := inNetns(h.nat, func() error {
		return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0)
	}); err != nil {
		return fmt.Errorf("NAT forwarding: %w", err)
	}
	return nftCmd(ctx, h.nat, natTable)
}

// natReport fills r's NAT figures from the last poll of every home;
// live[i] says whether home i's process runs.
func (t *tracker) natReport(r *Report, names, nbNames []string, nat, live []bool) {
	r.NAT = []NATHomeReport{}
	for i, h := range t.homes {
		c := h.last.Conns
		if !nat[i] {
			if live[i] && h.answered && c != nil && c.Reachability == "public" {
				r.PublicReachable++
			}
			continue
		}
		nb := t.nbOf[i]
		_, term := t.leaderOf(nb)
		hr := NATHomeReport{Home: names[i], Neighborhood: nbNames[nb], EverRelayed: h.everLimited,
			EverPrivate: h.verdicts["private"], EverPublic: h.verdicts["public"]}
		hr.Following = live[i] && h.answered && h.last.HasPlan && term > 0 && h.last.PlanEpoch.Term == term
		if c != nil && live[i] && h.answered {
			hr.Reachability, hr.Direct, hr.Limited = c.Reachability, c.Direct, c.Limited
			hr.HolePunches, hr.HolePunchFailures, hr.DirectDials = c.HolePunches, c.HolePunchFailures, c.DirectDials
		}
		r.NATHomes++
		if hr.Following {
			r.NATHomesFollowing++
		}
		switch {
		case hr.Limited > 0:
			r.NATRelayed++
		case hr.Direct > 0:
			r.NATDirect++
		}
		r.NAT = append(r.NAT, hr)
	}
}
