package testnet

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gridmesh/gridmesh/node/dashboard"
)

// The city's page (Config.Dashboard): the same page a home serves, with
// the city's neighborhoods, their leaders and homes, each home linked to
// its own page (every home then serves one on a loopback port of its
// own).

// cityPage returns the city's page now. It reads each home through its
// node's Status (safe from any goroutine) and its simulated devices'
// meter; the home's node is loaded from shown, which the run's goroutine
// stores at every start, so this runs beside the scenarios.
func (c *city) cityPage() dashboard.Page {
	p := dashboard.Page{Kind: dashboard.KindCity, AtMs: time.Now().UnixMilli(), City: &dashboard.City{}}
	for _, nb := range c.nbhds {
		p.City.Neighborhoods = append(p.City.Neighborhoods, cityNeighborhood(nb))
	}
	return p
}

// cityNeighborhood is one neighborhood's part of the city's page: the
// feeder is the sum of its live homes' meters, as the testnet meters it.
func cityNeighborhood(nb *neighborhood) dashboard.CityNeighborhood {
	out := dashboard.CityNeighborhood{ID: string(nb.id), Homes: make([]dashboard.CityHome, 0, len(nb.homes))}
	var feeder float64
	for _, h := range nb.homes {
		n := h.shown.Load()
		row := dashboard.CityHome{ID: string(h.id), Alive: h.alive.Load() && n != nil}
		if row.Alive {
			st := n.Status()
			net := float64(h.dev.Snapshot().NetW)
			feeder += net
			row.Voter, row.Leader, row.Mode, row.NetW, row.SoC = st.Voter, st.IsLeader, st.Mode, &net, &st.SoC
			if addr := n.HTTPAddr(); addr != "" {
				row.URL = "http://" + addr + "/"
			}
			if st.IsLeader && st.Term >= out.Term {
				out.Leader, out.Term = string(h.id), st.Term
			}
			if out.TargetW == nil && st.Target != nil {
				w := float64(st.Target.ImportW)
				out.TargetW = &w
			}
		}
		out.Homes = append(out.Homes, row)
	}
	out.FeederW = &feeder
	return out
}

// serveDashboard serves the city's page on ln, and closes ln when the
// function it returns is called; that function returns once every
// request, the page's streams included, has ended.
func (c *city) serveDashboard(ctx context.Context, ln net.Listener, log *slog.Logger) (stop func()) {
	h, err := dashboard.New(dashboard.SourceFunc(c.cityPage), dashboard.DefaultConfig())
	if err != nil { // only for an invalid default configuration
		panic(err)
	}
	// Every request's context ends with streams: stop ends the page's
	// streams first, so that Shutdown does not wait on them.
	streams, endStreams := context.WithCancel(ctx)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, BaseContext: func(net.Listener) context.Context { return streams }}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	return func() {
		endStreams()
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			log.Warn("city page shutdown", "err", err)
		}
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			log.Warn("city page stopped", "err", err)
		}
	}
}

// homeDashboardAddr is where a home of a city with a page serves its
// own: a port of its own on loopback.
const homeDashboardAddr = "127.0.0.1:0"
