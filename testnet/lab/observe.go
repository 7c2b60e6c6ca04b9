package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gridmesh/gridmesh"
)

// status is the part of a home's GET /status the lab reads. It is
// decoded from the JSON alone: the lab shares no type with the node.
type status struct {
	Home           string            `json:"home"`
	PeerID         string            `json:"peer_id"`
	Cluster        string            `json:"cluster"`
	Voter          bool              `json:"voter"`
	Leader         string            `json:"leader"`
	IsLeader       bool              `json:"is_leader"`
	Term           uint64            `json:"term"`
	HasPlan        bool              `json:"has_plan"`
	EverPlanned    bool              `json:"ever_planned"`
	PlanEpoch      gridmesh.Epoch    `json:"plan_epoch"`
	CommittedEpoch gridmesh.Epoch    `json:"committed_epoch"`
	Counters       map[string]uint64 `json:"counters"`
	Conns          *connStatus       `json:"conns"`
	// What the city's page shows (dashboard.go): the control mode, the
	// meter's net import, the battery's charge, and the target the home
	// follows (its plan's) or holds (its own).
	Mode       string           `json:"mode"`
	NetW       gridmesh.W       `json:"net_w"`
	SoC        float64          `json:"soc"`
	PlanTarget gridmesh.Target  `json:"plan_target"`
	Target     *gridmesh.Target `json:"target"`
}

// connStatus is a home's connections by kind and its NAT traversal.
type connStatus struct {
	Direct            int    `json:"direct"`
	Limited           int    `json:"limited"`
	Reachability      string `json:"reachability"`
	HolePunches       uint64 `json:"hole_punches"`
	HolePunchFailures uint64 `json:"hole_punch_failures"`
	DirectDials       uint64 `json:"direct_dials"`
}

// pollTimeout bounds one status request: a stopped or cut-off home does
// not answer, and a round must not wait for it.
const pollTimeout = time.Second

// poller reads homes' status endpoints from the router namespace: its
// sockets are opened there (the lab's own namespaces are untouched), so
// it reaches every home over the router's routes, as a monitoring box
// on the homes' network would. A home behind NAT it reads from its NAT
// namespace, on its LAN, as the home's owner would: the NAT lets nothing
// in.
type poller struct {
	clients []*http.Client // per home
	addrs   []string       // per home: where its status endpoint is
}

func newPoller(nw *network) *poller {
	p := &poller{}
	router := newClient(nw.router)
	for _, h := range nw.homes {
		if h.nat == "" {
			p.clients, p.addrs = append(p.clients, router), append(p.addrs, h.addr)
			continue
		}
		p.clients, p.addrs = append(p.clients, newClient(h.nat)), append(p.addrs, natLANHome)
	}
	return p
}

// newClient is an HTTP client whose sockets are opened in namespace ns.
func newClient(ns string) *http.Client {
	d := &net.Dialer{Timeout: pollTimeout}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			err := inNetns(ns, func() error {
				var err error
				c, err = d.DialContext(ctx, network, addr)
				return err
			})
			return c, err
		},
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     30 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: pollTimeout}
}

// get reads home i's status.
func (p *poller) get(ctx context.Context, i int) (status, error) {
	var s status
	addr := p.addrs[i]
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s:%d/status", addr, statusPort), nil)
	if err != nil {
		return s, err
	}
	resp, err := p.clients[i].Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("status %s: %s", addr, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&s); err != nil {
		return s, fmt.Errorf("status %s: %w", addr, err)
	}
	return s, nil
}

// close releases idle connections.
func (p *poller) close() {
	for _, c := range p.clients {
		c.CloseIdleConnections()
	}
}
