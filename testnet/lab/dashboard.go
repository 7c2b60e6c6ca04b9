package lab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"time"

	"github.com/gridmesh/gridmesh/node/dashboard"
)

// The city's page (Config.Dashboard): the page the in-process testnet
// serves for its city, built here from the lab's status polls, with
// every home's own page under /home/{i}/, proxied into the home's
// namespace. The lab still reads homes only from outside: the page shows
// what their /status answered at the newest poll.

// cityPage is the city's page from one poll: ss[i] is home i's answer
// (ss shorter than names: not polled yet), taken at at. A neighborhood's
// leader is the home that answered as leader in the highest term (the
// tracker's rule); its target is the one its first answering home
// follows (the plan's, else its own); its feeder is the sum of its
// answering homes' meters, absent while none answered. A home that did
// not answer is shown down, with no figures and no link.
func cityPage(at time.Time, ss []sample, names, nbName []string, nbOf []int) dashboard.Page {
	nbs := make([]dashboard.CityNeighborhood, len(nbName))
	for nb, id := range nbName {
		nbs[nb] = dashboard.CityNeighborhood{ID: id, Homes: []dashboard.CityHome{}}
	}
	for i, name := range names {
		n := &nbs[nbOf[i]]
		row := dashboard.CityHome{ID: name}
		if i < len(ss) && ss[i].ok {
			st := ss[i].st
			net, soc := float64(st.NetW), st.SoC
			row.Alive, row.Voter, row.Leader, row.Mode = true, st.Voter, st.IsLeader, st.Mode
			row.NetW, row.SoC, row.URL = &net, &soc, homePagePath(i)
			n.FeederW = addW(n.FeederW, net)
			if st.IsLeader && (n.Leader == "" || st.Term > n.Term) {
				n.Leader, n.Term = name, st.Term
			}
			if n.TargetW == nil {
				n.TargetW = followedTarget(st)
			}
		}
		n.Homes = append(n.Homes, row)
	}
	return dashboard.Page{Kind: dashboard.KindCity, AtMs: at.UnixMilli(), City: &dashboard.City{Neighborhoods: nbs}}
}

// homePagePath is home i's page, relative to the city's: the city's
// page links it, and the lab proxies it (serveHomePages).
func homePagePath(i int) string { return fmt.Sprintf("home/%d/", i) }

// followedTarget is the import a home's neighborhood is asked for as the
// home sees it: its plan's target while it follows one, else its own
// target (absent: it has none).
func followedTarget(st status) *float64 {
	var w float64
	switch {
	case st.HasPlan:
		w = float64(st.PlanTarget.ImportW)
	case st.Target != nil:
		w = float64(st.Target.ImportW)
	default:
		return nil
	}
	return &w
}

// addW adds w to the sum at p (nil: no sum yet).
func addW(p *float64, w float64) *float64 {
	if p == nil {
		return &w
	}
	s := *p + w
	return &s
}

// page is the city's page from the newest poll: what the dashboard's
// streams send.
func (l *lab) page() dashboard.Page {
	l.mu.Lock()
	ss, at := l.seen, l.seenAt
	l.mu.Unlock()
	if at.IsZero() {
		at = time.Now() // no poll yet: every home shows down, as of now
	}
	return cityPage(at, ss, l.names, l.nbName, l.nbOf)
}

// dashboardHandler serves the city's page at / and home i's own page,
// with its stream and snapshot, at /home/{i}/.
func (l *lab) dashboardHandler() (http.Handler, error) {
	city, err := dashboard.New(dashboard.SourceFunc(l.page), dashboard.DefaultConfig())
	if err != nil {
		return nil, fmt.Errorf("city page: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", city)
	// A pattern ending in a slash also answers /home/{i} with a redirect
	// to /home/{i}/: the home's page loads its script, style and stream
	// by relative URLs, which resolve under the slash.
	mux.Handle("GET /home/{i}/", l.poll.homePages(l.names))
	return mux, nil
}

// homePages proxies /home/{i}/... to home i's HTTP endpoint, through
// the transport the poller reads its status with (its sockets open in
// the router's namespace, or in the home's NAT's). Not through the
// poller's client: its timeout, one poll's, would cut the page's event
// stream after a second. names[i] is home i's name, for errors.
func (p *poller) homePages(names []string) http.Handler {
	proxies := make([]http.Handler, len(p.addrs))
	for i, addr := range p.addrs {
		to := &url.URL{Scheme: "http", Host: net.JoinHostPort(addr, strconv.Itoa(statusPort))}
		rp := &httputil.ReverseProxy{
			// SetURL keeps the path after the prefix StripPrefix took
			// off; an event stream is flushed as it comes
			// (ReverseProxy flushes text/event-stream at once).
			Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(to) },
			Transport: p.clients[i].Transport,
			ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
				http.Error(w, fmt.Sprintf("home %s does not answer: %v", names[i], err), http.StatusBadGateway)
			},
		}
		proxies[i] = http.StripPrefix("/home/"+strconv.Itoa(i), rp)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.PathValue("i"))
		if err != nil || i < 0 || i >= len(proxies) || r.PathValue("i") != strconv.Itoa(i) {
			http.NotFound(w, r)
			return
		}
		proxies[i].ServeHTTP(w, r)
	})
}

// serveDashboard serves the city's page on ln, and closes ln when the
// function it returns is called; that function returns once every
// request, the streams and proxied streams included, has ended.
func (l *lab) serveDashboard(ctx context.Context, ln net.Listener) (stop func(), err error) {
	h, err := l.dashboardHandler()
	if err != nil {
		return nil, err
	}
	// Every request's context ends with streams: stop ends the streams
	// (and the proxied requests to the homes) first, so that Shutdown
	// does not wait on them.
	streams, endStreams := context.WithCancel(ctx)
	srv := &http.Server{
		Handler: h, ReadHeaderTimeout: 5 * time.Second,
		BaseContext: func(net.Listener) context.Context { return streams },
		ErrorLog:    slog.NewLogLogger(l.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	l.log.Info("city page", "url", "http://"+ln.Addr().String()+"/")
	return func() {
		endStreams()
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			l.log.Warn("city page shutdown", "err", err)
		}
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			l.log.Warn("city page stopped", "err", err)
		}
	}, nil
}
