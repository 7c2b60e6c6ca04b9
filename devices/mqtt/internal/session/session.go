package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/gridmesh/gridmesh/internal/backoff"
)

// Connection timeouts. A home's broker is on its LAN (often on the same
// box), so these are generous for it and short enough that a broken link
// is replaced well within a device's stale time.
const (
	// connectTimeout bounds dialing plus the CONNECT/CONNACK handshake:
	// a LAN broker answers in milliseconds, a loaded Raspberry Pi one in
	// well under a second; past 10 s it is not coming.
	connectTimeout = 10 * time.Second
	// keepAlive is how long the connection may be silent before a PINGREQ,
	// and pingTimeout how long the PINGRESP may take: a half-open
	// connection (broker host gone, NAT entry dropped) is noticed within
	// about 15 s instead of the TCP stack's minutes.
	keepAlive   = 10 * time.Second
	pingTimeout = 5 * time.Second
	// writeTimeout bounds how long a publish or subscribe waits to be
	// queued on a stuck connection before it fails (paho's default is
	// forever); the failure ends the connection and the next one retries.
	writeTimeout = 5 * time.Second
	// disconnectQuiesce is how long a clean disconnect waits for
	// outstanding work (a setpoint's PUBACK) before closing anyway.
	disconnectQuiesce = 250 * time.Millisecond
	// subscribeFailure is the granted-QoS code a broker returns in SUBACK
	// when it refuses a subscription (MQTT 3.1.1 §3.9.3).
	subscribeFailure = 0x80
	// protocolV311 pins MQTT 3.1.1 so a refused CONNECT is reported as
	// such instead of being retried as MQTT 3.1 by paho.
	protocolV311 = 4
)

// Config says which broker to connect to, as whom, and how to back off.
type Config struct {
	// Broker is the broker's URL, tcp://host:port.
	Broker string
	// ClientID identifies the connection at the broker; it must be unique
	// there (a second client with the same ID takes the first one's place).
	ClientID string
	// Username and Password authenticate, when the broker requires it.
	Username, Password string
	// ReconnectMin and ReconnectMax bound the delay between attempts.
	ReconnectMin, ReconnectMax time.Duration
	// Will, when set, is the message the broker publishes for the client
	// when the connection dies without a DISCONNECT (the process killed,
	// the host or its network gone); a clean stop discards it.
	Will *Will
}

// Will is a last-will message: published by the broker, not retained.
type Will struct {
	Topic   string
	Payload []byte
	QoS     byte
}

// Conn is one established connection, valid while its serve call runs.
type Conn struct {
	client paho.Client
}

// Subscribe subscribes to topic at qos and waits for the broker's SUBACK.
// handle is called with every message's payload, in order, on paho's
// router goroutine; the payload must not be kept past the call.
func (c *Conn) Subscribe(ctx context.Context, topic string, qos byte, handle func(payload []byte)) error {
	tok := c.client.Subscribe(topic, qos, func(_ paho.Client, m paho.Message) { handle(m.Payload()) })
	if err := wait(ctx, tok); err != nil {
		return fmt.Errorf("subscribe %q: %w", topic, err)
	}
	if st, ok := tok.(*paho.SubscribeToken); ok && st.Result()[topic] == subscribeFailure {
		return fmt.Errorf("subscribe %q: refused by the broker", topic)
	}
	return nil
}

// Publish publishes payload (not retained) on topic at qos and waits until
// the broker has it: its PUBACK for QoS 1, PUBCOMP for QoS 2, the write
// for QoS 0.
func (c *Conn) Publish(ctx context.Context, topic string, qos byte, payload []byte) error {
	if err := wait(ctx, c.client.Publish(topic, qos, false, payload)); err != nil {
		return fmt.Errorf("publish on %q: %w", topic, err)
	}
	return nil
}

// wait waits for tok or for ctx to end, whichever comes first.
func wait(ctx context.Context, tok paho.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Run connects to the broker and calls serve once per connection, with a
// context that ends when the connection is lost or ctx ends, until ctx
// ends. Between connections (and after a failed attempt) it waits a capped
// exponential backoff with jitter; the backoff starts over once a
// connection has held for ReconnectMax, so a broker that accepts and then
// drops a client at once (a duplicate client ID, a bad ACL) is retried
// ever more slowly rather than in a tight loop. Failures are logged, not
// returned: Run returns ctx's error once ctx ends and serve has returned.
func Run(ctx context.Context, cfg Config, log *slog.Logger, serve func(context.Context, *Conn) error) error {
	b := reconnectBackoff(cfg)
	for {
		up, err := connectAndServe(ctx, cfg, serve)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if up >= cfg.ReconnectMax {
			b.Reset()
		}
		delay := b.Next()
		log.Warn("mqtt connection down", "broker", cfg.Broker, "err", err, "retry_in", delay, "was_up", up)
		if !backoff.Sleep(ctx, delay) {
			return ctx.Err()
		}
	}
}

// reconnectBackoff is the backoff between connections: from ReconnectMin
// to ReconnectMax, with equal jitter (half of each delay random), which
// spreads out the homes and devices that all lost the same broker at once.
func reconnectBackoff(cfg Config) *backoff.Backoff {
	return backoff.New(cfg.ReconnectMin, cfg.ReconnectMax)
}

// connectAndServe makes one connection and serves it until it is lost or
// ctx ends. It reports how long the connection was up (0: never) and why
// it ended.
func connectAndServe(ctx context.Context, cfg Config, serve func(context.Context, *Conn) error) (time.Duration, error) {
	lost := make(chan error, 1) // paho reports a loss once per client
	// The handshake runs on paho's goroutine; dial ties it to ctx so Run
	// returns promptly even while a broker is slow to answer CONNECT.
	var (
		hmu         sync.Mutex
		stopClosing func() bool // ends the dial's "close the conn when ctx ends"
	)
	dial := func(u *url.URL, _ paho.ClientOptions) (net.Conn, error) {
		d := net.Dialer{Timeout: connectTimeout}
		conn, err := d.DialContext(ctx, "tcp", u.Host)
		if err != nil {
			return nil, err
		}
		hmu.Lock()
		stopClosing = context.AfterFunc(ctx, func() { conn.Close() })
		hmu.Unlock()
		return conn, nil
	}
	opts := paho.NewClientOptions().
		AddBroker(cfg.Broker).
		SetClientID(cfg.ClientID).
		SetUsername(cfg.Username).
		SetPassword(cfg.Password).
		SetProtocolVersion(protocolV311).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetOrderMatters(true).
		SetConnectTimeout(connectTimeout).
		SetKeepAlive(keepAlive).
		SetPingTimeout(pingTimeout).
		SetWriteTimeout(writeTimeout).
		SetCustomOpenConnectionFn(dial).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			select {
			case lost <- err:
			default:
			}
		})
	if w := cfg.Will; w != nil {
		opts.SetBinaryWill(w.Topic, w.Payload, w.QoS, false)
	}
	client := paho.NewClient(opts)
	tok := client.Connect()
	<-tok.Done() // bounded by connectTimeout, and cut short by ctx (dial)
	hmu.Lock()
	if stopClosing != nil {
		stopClosing() // from here a clean Disconnect ends the connection
	}
	hmu.Unlock()
	if err := tok.Error(); err != nil {
		return 0, fmt.Errorf("connect to %s: %w", cfg.Broker, err)
	}
	defer client.Disconnect(uint(disconnectQuiesce / time.Millisecond))
	if err := ctx.Err(); err != nil {
		return 0, err
	}

	start := time.Now()
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case err := <-lost:
			cancel(fmt.Errorf("connection lost: %w", err))
		case <-sctx.Done():
		}
	})
	err := serve(sctx, &Conn{client: client})
	cancel(errServeReturned)
	wg.Wait()
	if err == nil || errors.Is(err, context.Canceled) {
		err = context.Cause(sctx) // the loss (or the stop) says more
	}
	return time.Since(start), err
}

// errServeReturned ends a connection whose serve function returned.
var errServeReturned = errors.New("serve returned")

// Once makes one connection, calls serve on it and disconnects cleanly
// when serve returns: for a message that must go out when no connection
// is kept (a release after the device stopped). No retry; its error is
// the connection's or serve's.
func Once(ctx context.Context, cfg Config, serve func(context.Context, *Conn) error) error {
	var served error
	_, err := connectAndServe(ctx, cfg, func(ctx context.Context, c *Conn) error {
		served = serve(ctx, c)
		return served
	})
	if served != nil {
		return served
	}
	if errors.Is(err, errServeReturned) {
		return nil
	}
	return err
}
