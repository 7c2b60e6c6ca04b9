package mqtt

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gridmesh/gridmesh/devices/mqtt/internal/session"
)

// Run connects to the broker and keeps the device connected until ctx
// ends: on every connection it subscribes to the state topic and sends
// the last setpoint again (the device may have missed it while either of
// them was away); a lost connection is retried with capped exponential
// backoff and jitter. Connection failures are logged, not returned (the
// readings say the device is unavailable meanwhile). Run returns ctx's
// error once ctx has ended and its goroutines have exited. Run may be
// called once.
func (d *Device) Run(ctx context.Context) error {
	if !d.running.CompareAndSwap(false, true) {
		return errRunTwice
	}
	cfg := d.sessionConfig(d.cfg.ClientID)
	if d.cfg.WillPayload != "" {
		cfg.Will = &session.Will{Topic: d.cfg.SetTopic, Payload: []byte(d.cfg.WillPayload), QoS: d.cfg.QoS}
	}
	return session.Run(ctx, cfg, d.log, d.serve)
}

// sessionConfig is the broker connection's configuration, as clientID.
func (d *Device) sessionConfig(clientID string) session.Config {
	return session.Config{
		Broker:       d.cfg.Broker,
		ClientID:     clientID,
		Username:     d.cfg.Username,
		Password:     d.cfg.Password,
		ReconnectMin: d.cfg.ReconnectMin,
		ReconnectMax: d.cfg.ReconnectMax,
	}
}

// Release stops steering the device: the setpoint held is dropped (no
// more is sent, on this connection or the next, until a new one is set)
// and, when Config.ReleasePayload is set, that payload is published on
// the set topic and acknowledged by the broker before Release returns:
// on Run's connection when it has one, else on a connection of its own
// (a node that stops releases its devices after Run returned). ctx
// bounds it. A device without a set topic has nothing to release.
func (d *Device) Release(ctx context.Context) error {
	if d.tmpl == nil {
		return nil
	}
	d.pubMu.Lock()
	defer d.pubMu.Unlock()
	d.mu.Lock()
	d.setpoint, d.want = nil, nil
	conn := d.conn
	d.mu.Unlock()
	if d.cfg.ReleasePayload == "" {
		return nil
	}
	payload := []byte(d.cfg.ReleasePayload)
	if conn != nil {
		err := conn.Publish(ctx, d.cfg.SetTopic, d.cfg.QoS, payload)
		if err == nil {
			d.stats.releases.Add(1)
			return nil
		}
		d.log.Info("release not published on the live connection; trying a connection of its own", "err", err)
	}
	// Its own client ID: a live connection keeps its own.
	err := session.Once(ctx, d.sessionConfig(d.cfg.ClientID+"-release"), func(ctx context.Context, c *session.Conn) error {
		return c.Publish(ctx, d.cfg.SetTopic, d.cfg.QoS, payload)
	})
	if err != nil {
		return d.unavailable("release", fmt.Sprintf("release payload not published: %v", err))
	}
	d.stats.releases.Add(1)
	return nil
}

// serve runs one connection: subscribe, then publish setpoints until the
// connection ends.
func (d *Device) serve(ctx context.Context, c *session.Conn) error {
	d.mu.Lock()
	d.fresh = true // the first state on this connection re-sends the setpoint
	d.mu.Unlock()
	for _, topic := range d.dec.topics {
		if err := c.Subscribe(ctx, topic, d.cfg.QoS, func(p []byte) { d.receive(topic, p) }); err != nil {
			return err
		}
	}
	d.mu.Lock()
	d.connected, d.conn = true, c
	again := d.everUp
	d.everUp = true
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.connected, d.conn = false, nil
		d.mu.Unlock()
	}()
	if again {
		d.stats.reconnects.Add(1)
	}
	d.log.Info("connected", "broker", d.cfg.Broker, "topics", d.dec.topics, "reconnect", again)
	if d.cfg.KeepaliveTopic != "" {
		kctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { d.keepalive(kctx, c) })
		defer wg.Wait()
		defer cancel() // runs first: the keepalive stops, then is waited for
	}
	if d.tmpl == nil {
		<-ctx.Done()
		return context.Cause(ctx)
	}
	return d.publish(ctx, c)
}

// publish sends the newest setpoint whenever it differs from the one this
// connection last sent, or a re-send is asked for, until ctx ends. The
// first pass sends the last setpoint, if any: that is the re-send after a
// reconnect. Identical setpoints are sent once per connection, so a loop
// that repeats its command every tick does not flood the broker. A
// failed publish ends the connection; the next one sends again.
func (d *Device) publish(ctx context.Context, c *session.Conn) error {
	var sent []byte // what this connection last sent
	for {
		published, err := d.publishDue(ctx, c, sent)
		if err != nil {
			return err
		}
		if published != nil {
			sent = published
			continue
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-d.wake:
		}
	}
}

// publishDue publishes the newest setpoint if it differs from sent or a
// re-send is asked for, and returns what it published (nil: nothing).
// It holds pubMu, so a Release is never followed by a setpoint it
// dropped.
func (d *Device) publishDue(ctx context.Context, c *session.Conn, sent []byte) ([]byte, error) {
	d.pubMu.Lock()
	defer d.pubMu.Unlock()
	d.mu.Lock()
	p := d.setpoint
	due := p != nil && (d.resend || !bytes.Equal(p, sent))
	d.resend = false
	d.mu.Unlock()
	if !due {
		return nil, nil
	}
	if err := c.Publish(ctx, d.cfg.SetTopic, d.cfg.QoS, p); err != nil {
		return nil, fmt.Errorf("setpoint: %w", err)
	}
	d.stats.setpoints.Add(1)
	return p, nil
}

// keepalive publishes the keepalive now and every KeepaliveEvery until
// ctx ends or a publish fails (the connection is then being replaced,
// and the next one starts its own keepalive).
func (d *Device) keepalive(ctx context.Context, c *session.Conn) {
	t := time.NewTicker(d.cfg.KeepaliveEvery)
	defer t.Stop()
	for {
		if err := c.Publish(ctx, d.cfg.KeepaliveTopic, d.cfg.QoS, []byte(d.cfg.KeepalivePayload)); err != nil {
			if ctx.Err() == nil {
				d.log.Info("keepalive not published", "topic", d.cfg.KeepaliveTopic, "err", err)
			}
			return
		}
		d.stats.keepalives.Add(1)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
