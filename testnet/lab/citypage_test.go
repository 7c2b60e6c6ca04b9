package lab_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gridmesh/gridmesh/node/dashboard"
)

// cityPageCheck reads a running lab's city page at base (http://host:port/)
// as a person would: once every home answers and every neighborhood has a
// leader, it asks each leader's own page, proxied into its namespace,
// whom it takes for its neighborhood's leader, and streams the page of
// every other home through the proxy. logf receives what it saw.
type cityPageCheck struct {
	base   string
	client *http.Client
	logf   func(format string, args ...any)
}

// run returns what disagreed; nil when the lab's page and the homes'
// own pages agree.
func (c *cityPageCheck) run(ctx context.Context) error {
	formed, err := c.waitFormed(ctx)
	if err != nil {
		return err
	}
	c.logf("city page formed at %s: %s", time.UnixMilli(formed.AtMs).Format("15:04:05.000"), leaders(formed))
	if err := c.pageServed(ctx, ""); err != nil {
		return err
	}
	var errs []error
	for nb := range formed.City.Neighborhoods {
		errs = append(errs, c.leaderAgrees(ctx, nb))
	}
	now, err := c.city(ctx)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	errs = append(errs, c.streamFollowers(ctx, now))
	return errors.Join(errs...)
}

// waitFormed returns the first city page on which every home answers
// and every neighborhood has a leader.
func (c *cityPageCheck) waitFormed(ctx context.Context) (dashboard.Page, error) {
	var last error
	for {
		p, err := c.city(ctx)
		if err == nil && formedPage(p) {
			return p, nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return p, fmt.Errorf("city page never showed every home up and every neighborhood led (last %s; last error %v)", leaders(p), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func formedPage(p dashboard.Page) bool {
	if p.City == nil || len(p.City.Neighborhoods) == 0 {
		return false
	}
	for _, nb := range p.City.Neighborhoods {
		if nb.Leader == "" {
			return false
		}
		for _, h := range nb.Homes {
			if !h.Alive || h.URL == "" {
				return false
			}
		}
	}
	return true
}

// leaderAgrees compares neighborhood nb's leader on the city's page with
// the leader's own page, fetched between two city pages whose polls
// bracket it. Faults run meanwhile: while the two city pages disagree
// (the leader changed) it asks again; when they show one leader in one
// term, the leader's page must name itself, in that term.
func (c *cityPageCheck) leaderAgrees(ctx context.Context, nb int) error {
	for tries := 1; ; tries++ {
		before, err := c.city(ctx)
		if err != nil {
			return err
		}
		n := before.City.Neighborhoods[nb]
		row, ok := leaderRow(n)
		if !ok {
			if err := pause(ctx, n.ID); err != nil {
				return err
			}
			continue
		}
		var own dashboard.Page
		ownErr := c.getJSON(ctx, c.base+row.URL+"snapshot.json", &own)
		asked := time.Now().UnixMilli()
		after, err := c.cityAfter(ctx, asked)
		if err != nil {
			return err
		}
		if a := after.City.Neighborhoods[nb]; a.Leader != n.Leader || a.Term != n.Term {
			c.logf("%s: leader %s (term %d) then %s (term %d) around its page: asking again", n.ID, n.Leader, n.Term, a.Leader, a.Term)
			continue
		}
		if ownErr != nil {
			return fmt.Errorf("%s: leader %s (term %d) before and after, its page proxied at %s: %w", n.ID, n.Leader, n.Term, row.URL, ownErr)
		}
		if own.Kind != dashboard.KindHome || own.Home == nil || own.Neighborhood == nil {
			return fmt.Errorf("%s: %s's page is %+v: want a home's page", n.ID, row.URL, own)
		}
		got := own.Neighborhood
		if own.Home.ID != n.Leader || got.ID != n.ID || got.LeaderHome != n.Leader || got.Term != n.Term {
			return fmt.Errorf("%s: the city's page shows %s leading in term %d; its page at %s is %s's and shows %s leading %s in term %d",
				n.ID, n.Leader, n.Term, row.URL, own.Home.ID, got.LeaderHome, got.ID, got.Term)
		}
		c.logf("%s: the city's page and %s's own page agree: %s leads in term %d (after %d tries)", n.ID, n.Leader, n.Leader, n.Term, tries)
		return nil
	}
}

func leaderRow(n dashboard.CityNeighborhood) (dashboard.CityHome, bool) {
	for _, h := range n.Homes {
		if h.ID == n.Leader && h.Leader && h.URL != "" {
			return h, true
		}
	}
	return dashboard.CityHome{}, false
}

func pause(ctx context.Context, nb string) error {
	select {
	case <-ctx.Done():
		return fmt.Errorf("%s: no leader on the city's page: %w", nb, ctx.Err())
	case <-time.After(250 * time.Millisecond):
		return nil
	}
}

// streamFollowers reads three events of every home that answers and
// does not lead on p, at once, through the proxy: the faults strike
// leaders. Three events take two seconds, longer than a status poll's
// timeout.
func (c *cityPageCheck) streamFollowers(ctx context.Context, p dashboard.Page) error {
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	streamed := 0
	for _, nb := range p.City.Neighborhoods {
		for _, h := range nb.Homes {
			if h.Leader || !h.Alive {
				continue
			}
			streamed++
			wg.Go(func() {
				if err := c.pageServed(ctx, h.URL); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				start := time.Now()
				ids, err := readEvents(ctx, c.base+h.URL+"events", 3)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, fmt.Errorf("%s's stream at %s: %w", h.ID, h.URL, err))
					return
				}
				for _, id := range ids {
					if id != h.ID {
						errs = append(errs, fmt.Errorf("%s's stream at %s sent %s's page", h.ID, h.URL, id))
					}
				}
				c.logf("%s's page streamed %d events through the proxy in %v", h.ID, len(ids), time.Since(start).Round(time.Millisecond))
			})
		}
	}
	wg.Wait()
	if streamed == 0 {
		errs = append(errs, fmt.Errorf("no home to stream on %s", leaders(p)))
	}
	return errors.Join(errs...)
}

// pageServed checks the page at base+path is HTML.
func (c *cityPageCheck) pageServed(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/html") {
		return fmt.Errorf("GET %s: %s, %q; want the page", c.base+path, resp.Status, ct)
	}
	return nil
}

func (c *cityPageCheck) city(ctx context.Context) (dashboard.Page, error) {
	var p dashboard.Page
	if err := c.getJSON(ctx, c.base+"snapshot.json", &p); err != nil {
		return p, err
	}
	if p.Kind != dashboard.KindCity || p.City == nil {
		return p, fmt.Errorf("city page %+v: want a city", p)
	}
	return p, nil
}

// cityAfter returns the first city page whose poll began after atMs.
func (c *cityPageCheck) cityAfter(ctx context.Context, atMs int64) (dashboard.Page, error) {
	for {
		p, err := c.city(ctx)
		if err != nil || p.AtMs > atMs {
			return p, err
		}
		select {
		case <-ctx.Done():
			return p, fmt.Errorf("no poll after %d: %w", atMs, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *cityPageCheck) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// readEvents reads n snapshots from an event stream and returns the
// home each shows.
func readEvents(ctx context.Context, url string, n int) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req) // no client timeout: a stream lasts
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		return nil, fmt.Errorf("%s, %q; want an event stream", resp.Status, ct)
	}
	var ids []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for len(ids) < n && sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var p dashboard.Page
		if err := json.Unmarshal([]byte(data), &p); err != nil {
			return ids, fmt.Errorf("event %q: %w", data, err)
		}
		if p.Home == nil {
			return ids, fmt.Errorf("event of kind %q: want a home's page", p.Kind)
		}
		ids = append(ids, p.Home.ID)
	}
	if len(ids) < n {
		return ids, fmt.Errorf("stream ended after %d events (%v): want %d", len(ids), sc.Err(), n)
	}
	return ids, nil
}

// leaders lists a city page's leaders, for logs.
func leaders(p dashboard.Page) string {
	if p.City == nil {
		return "no city"
	}
	var b strings.Builder
	for _, nb := range p.City.Neighborhoods {
		up := 0
		for _, h := range nb.Homes {
			if h.Alive {
				up++
			}
		}
		fmt.Fprintf(&b, "%s: leader %q term %d, %d/%d homes up; ", nb.ID, nb.Leader, nb.Term, up, len(nb.Homes))
	}
	return strings.TrimSuffix(b.String(), "; ")
}
