package lab

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/node/dashboard"
)

func TestCityPage(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_000)
	names, nbName, nbOf := []string{"h00", "h01", "h02", "h03"}, []string{"n0", "n1"}, []int{0, 1, 0, 1}
	answer := func(st status) sample { return sample{ok: true, st: st} }
	f := func(v float64) *float64 { return &v }
	type nbWant struct {
		leader         string
		term           uint64
		target, feeder *float64
		alive, urls    []bool
		modes          []string
	}
	tests := []struct {
		name string
		ss   []sample
		want []nbWant
	}{
		{"not polled yet", nil, []nbWant{
			{alive: []bool{false, false}, urls: []bool{false, false}, modes: []string{"", ""}},
			{alive: []bool{false, false}, urls: []bool{false, false}, modes: []string{"", ""}},
		}},
		{"higher term leads; plan's target first; own target without a plan; a silent home is down", []sample{
			answer(status{IsLeader: true, Term: 3, Mode: "plan", NetW: 100, SoC: 0.5, HasPlan: true, PlanTarget: gridmesh.Target{ImportW: 600}, Target: &gridmesh.Target{ImportW: 400}}),
			{},
			answer(status{IsLeader: true, Term: 5, Mode: "autonomous", NetW: -30, SoC: 0.25}),
			answer(status{Mode: "autonomous", NetW: 50, Target: &gridmesh.Target{ImportW: 400}}),
		}, []nbWant{
			{leader: "h02", term: 5, target: f(600), feeder: f(70), alive: []bool{true, true}, urls: []bool{true, true}, modes: []string{"plan", "autonomous"}},
			{target: f(400), feeder: f(50), alive: []bool{false, true}, urls: []bool{false, true}, modes: []string{"", "autonomous"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := cityPage(at, tt.ss, names, nbName, nbOf)
			if p.Kind != dashboard.KindCity || p.AtMs != at.UnixMilli() || p.City == nil || len(p.City.Neighborhoods) != 2 {
				t.Fatalf("page %+v: want a city of 2 neighborhoods at %d", p, at.UnixMilli())
			}
			for nb, w := range tt.want {
				got := p.City.Neighborhoods[nb]
				if got.ID != nbName[nb] || got.Leader != w.leader || got.Term != w.term || !sameW(got.TargetW, w.target) || !sameW(got.FeederW, w.feeder) {
					t.Errorf("%s: leader %q term %d target %v feeder %v; want %q %d %v %v", nbName[nb], got.Leader, got.Term, deref(got.TargetW), deref(got.FeederW), w.leader, w.term, deref(w.target), deref(w.feeder))
				}
				if len(got.Homes) != 2 {
					t.Fatalf("%s: homes %+v: want 2", nbName[nb], got.Homes)
				}
				for k, h := range got.Homes {
					i := nb + 2*k // homes are dealt out: home i in neighborhood i mod 2
					if h.ID != names[i] || h.Alive != w.alive[k] || (h.URL != "") != w.urls[k] || h.Mode != w.modes[k] {
						t.Errorf("%s home %d: %+v; want %s alive %v, link %v, mode %q", nbName[nb], k, h, names[i], w.alive[k], w.urls[k], w.modes[k])
					}
					if h.URL != "" && h.URL != homePagePath(i) {
						t.Errorf("%s: link %q; want %q", h.ID, h.URL, homePagePath(i))
					}
					if h.Alive != (h.NetW != nil && h.SoC != nil) {
						t.Errorf("%s: alive %v with grid %v, charge %v: want figures exactly when it answered", h.ID, h.Alive, h.NetW, h.SoC)
					}
					if h.Alive && (*h.NetW != float64(tt.ss[i].st.NetW) || *h.SoC != tt.ss[i].st.SoC) {
						t.Errorf("%s: grid %v, charge %v; want its status's %v, %v", h.ID, *h.NetW, *h.SoC, tt.ss[i].st.NetW, tt.ss[i].st.SoC)
					}
				}
			}
		})
	}
}

func sameW(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// The lab's page handler, without namespaces: the poller's transport
// dials a home's dashboard on loopback whatever address it is asked for.
// The city's page is served at /, a home's page, snapshot and event
// stream under /home/{i}/, and the stream outlives the poller's client
// timeout.
func TestDashboardHandlerProxiesHomes(t *testing.T) {
	const period = 600 * time.Millisecond // three events take longer than one poll's timeout
	homeSrc := dashboard.SourceFunc(func() dashboard.Page {
		return dashboard.Page{Kind: dashboard.KindHome, AtMs: time.Now().UnixMilli(), Home: &dashboard.Home{ID: "h01"}}
	})
	cfg := dashboard.DefaultConfig()
	cfg.Period = period
	home, err := dashboard.New(homeSrc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	homeSrv := httptest.NewServer(home)
	defer homeSrv.Close()
	d := &net.Dialer{Timeout: pollTimeout}
	toHome := &http.Client{Timeout: pollTimeout, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, homeSrv.Listener.Addr().String())
		},
	}}
	dead := &http.Client{Timeout: pollTimeout, Transport: &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) {
			return nil, &net.OpError{Op: "dial", Err: io.ErrUnexpectedEOF}
		},
	}}
	l := &lab{
		log: slog.New(slog.DiscardHandler), names: []string{"h00", "h01"}, nbName: []string{"n0"}, nbOf: []int{0, 0},
		poll: &poller{clients: []*http.Client{dead, toHome}, addrs: []string{"11.77.0.2", "11.77.0.3"}},
		seen: []sample{{}, {ok: true, st: status{IsLeader: true, Term: 2, Mode: "plan"}}}, seenAt: time.Now(),
	}
	h, err := l.dashboardHandler()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	var city dashboard.Page
	getJSON(t, srv.URL+"/snapshot.json", &city)
	if city.Kind != dashboard.KindCity || city.City.Neighborhoods[0].Leader != "h01" || city.City.Neighborhoods[0].Homes[1].URL != "home/1/" {
		t.Errorf("city page %+v: want h01 leading, linked at home/1/", city.City)
	}
	var hp dashboard.Page
	getJSON(t, srv.URL+"/home/1/snapshot.json", &hp)
	if hp.Kind != dashboard.KindHome || hp.Home == nil || hp.Home.ID != "h01" {
		t.Errorf("home 1's snapshot %+v: want h01's", hp)
	}
	for path, want := range map[string]int{
		"/": 200, "/home/1/": 200, "/home/1/app.js": 200, "/home/0/": http.StatusBadGateway,
		"/home/2/": 404, "/home/01/": 404, "/home/x/": 404,
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %s; want %d", path, resp.Status, want)
		}
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(srv.URL + "/home/1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode/100 != 3 || loc != "/home/1/" {
		t.Errorf("GET /home/1: %s to %q; want a redirect to /home/1/ (the page's relative URLs resolve under it)", resp.Status, loc)
	}

	start := time.Now()
	pages := readEvents(t, srv.URL+"/home/1/events", 3)
	for _, p := range pages {
		if p.Home == nil || p.Home.ID != "h01" {
			t.Errorf("event %+v: want h01's page", p)
		}
	}
	if took := time.Since(start); took <= pollTimeout {
		t.Errorf("three events in %v: want longer than the poll's timeout %v, which the stream must outlive", took, pollTimeout)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// readEvents reads n snapshots from an event stream.
func readEvents(t *testing.T, url string, n int) []dashboard.Page {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("GET %s: %s, %q; want an event stream", url, resp.Status, ct)
	}
	var out []dashboard.Page
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for len(out) < n && sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var p dashboard.Page
		if err := json.Unmarshal([]byte(data), &p); err != nil {
			t.Fatalf("event %q: %v", data, err)
		}
		out = append(out, p)
	}
	if len(out) < n {
		t.Fatalf("stream %s ended after %d events (%v): want %d", url, len(out), sc.Err(), n)
	}
	return out
}
