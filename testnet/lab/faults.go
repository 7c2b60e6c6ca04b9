package lab

import (
	"context"
	"time"
)

// linkChange is a flapping link going down or coming back up, After the
// flap began.
type linkChange struct {
	After time.Duration
	Down  bool
}

// flapSchedule is a flapping link's changes over total: down for down,
// up for up, again and again, from the start; a down period that would
// outlast total is cut short, and the link always ends up.
func flapSchedule(total, down, up time.Duration) []linkChange {
	if total <= 0 || down <= 0 || up < 0 {
		return nil
	}
	var out []linkChange
	for at := time.Duration(0); at < total; at += down + up {
		out = append(out, linkChange{After: at, Down: true}, linkChange{After: min(at+down, total), Down: false})
	}
	return out
}

// setDown takes home i's link down (both ways) or brings it back up.
func (nw *network) setDown(i int, down bool) {
	h := nw.homes[i]
	if !down {
		h.upImp.Store(nil)
		h.downImp.Store(nil)
		return
	}
	imp := &Impairment{Down: true}
	h.upImp.Store(imp)
	h.downImp.Store(imp)
}

// setLoss lays lossPct of random loss over every home's uplink (0
// lifts it): every home-to-home path crosses one uplink, so each sees
// lossPct, as the profiles' loss is counted.
func (nw *network) setLoss(lossPct float64) {
	for _, h := range nw.homes {
		if lossPct <= 0 {
			h.upImp.Store(nil)
			continue
		}
		h.upImp.Store(&Impairment{LossPct: lossPct})
	}
}

// flap takes nb's leader's link down and up by FlapDown and FlapUp for
// FlapFor: the first down costs it its leadership (longer than an
// election), the next ones find it a follower. Then it waits for the
// neighborhood to settle with the home back on its plans.
func (l *lab) flap(ctx context.Context, nb int) error {
	v := l.leader(nb)
	f := l.record("flap", nb, []int{v})
	start := time.Now()
	defer l.net.setDown(v, false)
	for _, c := range flapSchedule(l.cfg.FlapFor, l.cfg.FlapDown, l.cfg.FlapUp) {
		if err := sleep(ctx, time.Until(start.Add(c.After))); err != nil {
			return err
		}
		l.net.setDown(v, c.Down)
		if c.Down {
			l.mu.Lock()
			f.Downs++
			l.mu.Unlock()
		}
	}
	up := time.Now()
	// The last poll before the link came up found the home as it was
	// before it went down: judge from polls begun since.
	if err := l.freshPoll(ctx); err != nil {
		return err
	}
	return l.back(ctx, f, up, "flapped "+l.names[v]+" back on its neighborhood's plans", func(t *tracker) bool { return l.settled(t, nb) && t.homes[v].fresh })
}

// freshPoll waits until a poll begun after the call has ended: the one
// under way may have begun before.
func (l *lab) freshPoll(ctx context.Context) error {
	for range 2 {
		l.mu.Lock()
		ch := l.polled
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// loss lays LossPct of loss over every link for LossFor, then waits
// for every neighborhood to settle.
func (l *lab) loss(ctx context.Context) error {
	l.mu.Lock()
	f := l.tr.cityFault(time.Now(), "loss")
	l.mu.Unlock()
	l.log.Info("loss", "pct", l.cfg.LossPct, "for", l.cfg.LossFor)
	l.net.setLoss(l.cfg.LossPct)
	err := sleep(ctx, l.cfg.LossFor)
	l.net.setLoss(0)
	if err != nil {
		return err
	}
	lifted := time.Now()
	if err := l.freshPoll(ctx); err != nil {
		return err
	}
	return l.back(ctx, f, lifted, "every neighborhood settled after the loss", l.formed)
}
