package mqtt

import (
	"bytes"
	"context"
	"fmt"

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
	cfg := session.Config{
		Broker:       d.cfg.Broker,
		ClientID:     d.cfg.ClientID,
		Username:     d.cfg.Username,
		Password:     d.cfg.Password,
		ReconnectMin: d.cfg.ReconnectMin,
		ReconnectMax: d.cfg.ReconnectMax,
	}
	return session.Run(ctx, cfg, d.log, d.serve)
}

// serve runs one connection: subscribe, then publish setpoints until the
// connection ends.
func (d *Device) serve(ctx context.Context, c *session.Conn) error {
	d.mu.Lock()
	d.fresh = true // the first state on this connection re-sends the setpoint
	d.mu.Unlock()
	if err := c.Subscribe(ctx, d.cfg.StateTopic, d.cfg.QoS, d.receive); err != nil {
		return err
	}
	d.mu.Lock()
	d.connected = true
	again := d.everUp
	d.everUp = true
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.connected = false
		d.mu.Unlock()
	}()
	if again {
		d.stats.reconnects.Add(1)
	}
	d.log.Info("connected", "broker", d.cfg.Broker, "state_topic", d.cfg.StateTopic, "reconnect", again)
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
		d.mu.Lock()
		p := d.setpoint
		due := p != nil && (d.resend || !bytes.Equal(p, sent))
		d.resend = false
		d.mu.Unlock()
		if due {
			if err := c.Publish(ctx, d.cfg.SetTopic, d.cfg.QoS, p); err != nil {
				return fmt.Errorf("setpoint: %w", err)
			}
			sent = p
			d.stats.setpoints.Add(1)
			continue
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-d.wake:
		}
	}
}
