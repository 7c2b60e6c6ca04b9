package node_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/mesh/meshtest"
	"github.com/gridmesh/gridmesh/node"
	"github.com/gridmesh/gridmesh/node/dashboard"
)

// A voter's page names the leader and voters by home, lists every home
// with its report and setpoint, and sums the feeder from the reports it
// hears.
func TestDashboardShowsTheNeighborhood(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		homes := startNeighborhood(t, meshtest.NewMemNetwork(), 3, 3, nil)
		for _, h := range homes {
			h.n.SetTarget(gridmesh.Target{Seq: 1, ImportW: 600})
		}
		var p dashboard.Page
		var st node.Status
		waitFor(t, "a plan everywhere and every report heard", 30*time.Second, func() bool {
			if _, ok := samePlanEverywhere(homes, 1); !ok {
				return false
			}
			p, st = homes[1].n.Dashboard(), homes[1].n.Status()
			return p.Neighborhood.HomesHeard == 3 && p.Neighborhood.LeaderHome != ""
		})
		nb := p.Neighborhood
		leader := leaderHome(t, homes)
		if nb.Leader != leader.n.PeerID().String() || nb.LeaderHome != string(leader.n.Home()) {
			t.Errorf("leader %s (%s), want %s (%s)", nb.Leader, nb.LeaderHome, leader.n.PeerID(), leader.n.Home())
		}
		if len(nb.Voters) != 3 {
			t.Errorf("voters %+v, want 3", nb.Voters)
		}
		for _, v := range nb.Voters {
			if v.Home == "" {
				t.Errorf("voter %s not named by home", v.Peer)
			}
		}
		if !nb.Listening || nb.FeederW == nil || nb.TargetW == nil || *nb.TargetW != 600 {
			t.Errorf("listening %v, feeder %v, target %v", nb.Listening, nb.FeederW, nb.TargetW)
		}
		if len(nb.Homes) != 3 {
			t.Fatalf("homes %+v", nb.Homes)
		}
		for i, row := range nb.Homes {
			if row.ID != string(homes[i].n.Home()) || row.SetpointW == nil || row.NetW == nil || row.SoC == nil || !row.Voter {
				t.Errorf("row %d: %+v", i, row)
			}
			if row.Leader != (row.ID == nb.LeaderHome) {
				t.Errorf("row %s leader %v", row.ID, row.Leader)
			}
		}
		h := p.Home
		if h.ID != "h1" || h.Mode != "plan" || !h.Plan.Has || h.Plan.TargetW != 600 || h.SoC == nil || h.NetW == nil {
			t.Errorf("home %+v", h)
		}
		if h.Plan.Epoch == "" || h.Plan.LeaseLeftMs <= 0 || h.Plan.AgeMs < 0 {
			t.Errorf("plan %+v", h.Plan)
		}
		if len(h.Devices) != 2 || h.Devices[0].Kind != "battery" || h.Devices[0].Breaker != "closed" || h.Devices[1].Kind != "meter" {
			t.Errorf("devices %+v", h.Devices)
		}
		if h.EnergyToday == nil || h.EnergyToday.SinceMs == 0 {
			t.Errorf("energy today %+v", h.EnergyToday)
		}
		if st.Feeder == nil || !st.Feeder.Listening || st.Feeder.MeteredW == nil {
			t.Errorf("status feeder %+v", st.Feeder)
		}
	})
}

// leaderHome returns the home that leads.
func leaderHome(t *testing.T, homes []*testHome) *testHome {
	t.Helper()
	for _, h := range homes {
		if h.n.Status().IsLeader {
			return h
		}
	}
	t.Fatal("no leader")
	return nil
}

// The status endpoint serves the page at / and its stream at /events.
func TestStatusEndpointServesThePage(t *testing.T) {
	t.Parallel() // real sockets and clocks: runs beside the bubbles
	homes := startNeighborhood(t, nil, 1, 1, func(_ int, c *node.Config) { c.HTTPAddr = "127.0.0.1:0" })
	h := homes[0]
	waitFor(t, "the status endpoint to listen", 20*time.Second, func() bool { return h.n.HTTPAddr() != "" })
	base := "http://" + h.n.HTTPAddr()
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `src="app.js"`) {
		t.Fatalf("GET /: %d %.80q", resp.StatusCode, body)
	}
	resp, err = http.Get(base + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64<<10)
	var got string
	for !strings.Contains(got, "\n\ndata: ") || !strings.HasSuffix(got, "\n\n") {
		k, err := resp.Body.Read(buf)
		if err != nil {
			t.Fatalf("stream: %v after %q", err, got)
		}
		got += string(buf[:k])
	}
	_, data, _ := strings.Cut(got, "\n\ndata: ")
	var p dashboard.Page
	if err := json.Unmarshal([]byte(strings.TrimSpace(data)), &p); err != nil {
		t.Fatal(err)
	}
	if p.Kind != dashboard.KindHome || p.Home.ID != "h0" {
		t.Errorf("page %+v", p)
	}
}
