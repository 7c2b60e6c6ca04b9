package hass

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/gridmesh/gridmesh/control"
)

// SchemaVersion is the topic schema's version: it is in every topic
// (<base>/v1/<home>/...). A change that breaks a subscriber gets a new
// one.
const SchemaVersion = "v1"

// State is what a home publishes on its state topic, as JSON.
type State struct {
	NetW     float64 `json:"net_w"`
	BatteryW float64 `json:"battery_w"`
	SoCPct   float64 `json:"soc_pct"`
	// Mode is "plan" or "autonomous"; Steering is "steered", "paused" or
	// "opted_out"; Leader is whether the home leads its neighborhood.
	Mode     string `json:"mode"`
	Steering string `json:"steering"`
	Leader   bool   `json:"leader"`
	// The energy counters, kWh since the home first ran (they survive
	// restarts).
	GridImportKWh       float64 `json:"grid_import_kwh"`
	GridExportKWh       float64 `json:"grid_export_kwh"`
	BatteryChargeKWh    float64 `json:"battery_charge_kwh"`
	BatteryDischargeKWh float64 `json:"battery_discharge_kwh"`
	PVProductionKWh     float64 `json:"pv_production_kwh"`
	LoadServedKWh       float64 `json:"load_served_kwh"`
	LoadShedKWh         float64 `json:"load_shed_kwh"`
	// The owner's settings.
	ReservePct float64 `json:"reserve_pct"`
	OptOutNext bool    `json:"opt_out_next"`
	Paused     bool    `json:"paused"`
}

// Home is what the publisher needs of a home.
type Home interface {
	// HassState returns the home's state now. It must not block.
	HassState() State
	// ChangeOwnerSettings applies an owner's change, as the owner API does.
	ChangeOwnerSettings(control.OwnerChange) (control.OwnerSettings, error)
}

// Info describes the home in Home Assistant's device registry.
type Info struct {
	Home      string // the home's ID
	SWVersion string // the gridmesh build
}

// Publisher publishes one home. Create it with New; Run it.
type Publisher struct {
	cfg  Config
	home Home
	info Info
	log  *slog.Logger
	base string // <BaseTopic>/v1/<home>
	// kick asks Run to publish the state now (a command was applied);
	// size 1, coalescing.
	kick chan struct{}
}

// New validates cfg and returns a publisher for home. It starts nothing.
func New(cfg Config, home Home, info Info, log *slog.Logger) (*Publisher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("hass: %w", err)
	}
	if info.Home == "" || strings.ContainsAny(info.Home, "+#/") {
		return nil, fmt.Errorf("hass: home %q not usable in a topic", info.Home)
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "gridmesh-" + info.Home
	}
	return &Publisher{
		cfg: cfg, home: home, info: info, log: log.With("part", "hass"),
		base: cfg.BaseTopic + "/" + SchemaVersion + "/" + info.Home,
		kick: make(chan struct{}, 1),
	}, nil
}

// Topics of the schema.
func (p *Publisher) availabilityTopic() string { return p.base + "/availability" }
func (p *Publisher) stateTopic() string        { return p.base + "/state" }
func (p *Publisher) commandTopic(setting string) string {
	return p.base + "/set/" + setting
}

// connectTimeout bounds a connection attempt and each publish. Why 10 s:
// a broker on the home's LAN answers in milliseconds; one across the
// internet in well under a second; 10 s is a broker that is not there.
const connectTimeout = 10 * time.Second

// offlineTimeout bounds publishing "offline" when the home stops. Why
// 3 s: a broker on the LAN acknowledges in milliseconds, and a stopping
// home has the time (systemd and docker allow 10 s or more); a broker
// that does not answer in 3 s loses the announcement, and Home
// Assistant then shows the home's last state until the broker notices.
const offlineTimeout = 3 * time.Second

// Run connects, announces the home (discovery, "online"), subscribes to
// the commands and publishes the state every Period and after each
// command, until ctx ends (it then publishes "offline" and disconnects,
// returning ctx's error) or the connection fails (it returns the error).
func (p *Publisher) Run(ctx context.Context) error {
	lost := make(chan error, 1)
	opts := paho.NewClientOptions().AddBroker(p.cfg.Broker).SetClientID(p.cfg.ClientID).
		SetUsername(p.cfg.Username).SetPassword(p.cfg.Password).
		SetAutoReconnect(false).SetConnectRetry(false).SetOrderMatters(false).
		SetConnectTimeout(connectTimeout).SetCleanSession(true).
		SetWill(p.availabilityTopic(), "offline", 1, true).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			select {
			case lost <- err:
			default:
			}
		})
	c := paho.NewClient(opts)
	if err := wait(ctx, c.Connect()); err != nil {
		return fmt.Errorf("hass: connect to %s: %w", p.cfg.Broker, err)
	}
	defer c.Disconnect(250) // ms for in-flight messages to leave
	// Stopping (ctx ended) says "offline" before the graceful disconnect,
	// which discards the will: also when ctx ends during a publish.
	defer func() {
		if ctx.Err() == nil {
			return
		}
		offCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), offlineTimeout)
		defer cancel()
		_ = wait(offCtx, c.Publish(p.availabilityTopic(), 1, true, "offline"))
	}()
	if err := p.announce(ctx, c); err != nil {
		return err
	}
	p.log.Info("publishing to Home Assistant", "broker", p.cfg.Broker, "topic", p.base)
	t := time.NewTicker(p.cfg.Period)
	defer t.Stop()
	for {
		if err := p.publish(ctx, c, p.stateTopic(), p.home.HassState()); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err() // "offline" goes in the deferred call above
		case err := <-lost:
			return fmt.Errorf("hass: connection lost: %w", err)
		case <-t.C:
		case <-p.kick:
		}
	}
}

// announce publishes the discovery configs and "online", and subscribes
// to the command topics.
func (p *Publisher) announce(ctx context.Context, c paho.Client) error {
	for _, d := range p.discovery() {
		if err := p.publish(ctx, c, d.topic, d.payload); err != nil {
			return err
		}
	}
	if err := wait(ctx, c.Publish(p.availabilityTopic(), 1, true, "online")); err != nil {
		return fmt.Errorf("hass: publish availability: %w", err)
	}
	if err := wait(ctx, c.Subscribe(p.commandTopic("+"), 1, p.onCommand)); err != nil {
		return fmt.Errorf("hass: subscribe to commands: %w", err)
	}
	return nil
}

// publish publishes v as retained JSON on topic.
func (p *Publisher) publish(ctx context.Context, c paho.Client, topic string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("hass: encode %s: %w", topic, err)
	}
	if err := wait(ctx, c.Publish(topic, 1, true, b)); err != nil {
		return fmt.Errorf("hass: publish %s: %w", topic, err)
	}
	return nil
}

// onCommand applies a command from Home Assistant (paho's goroutine) and
// asks Run to publish the state it led to. A command that cannot be
// decoded or applied is logged and dropped: MQTT has no answer to send.
func (p *Publisher) onCommand(_ paho.Client, m paho.Message) {
	setting := strings.TrimPrefix(m.Topic(), p.commandTopic(""))
	c, err := ParseCommand(setting, m.Payload())
	if err == nil {
		_, err = p.home.ChangeOwnerSettings(c)
	}
	if err != nil {
		p.log.Warn("Home Assistant command refused", "topic", m.Topic(), "err", err)
	}
	select {
	case p.kick <- struct{}{}:
	default: // a publish is pending
	}
}

// ParseCommand decodes a command on <base>/v1/<home>/set/<setting>:
// reserve_pct takes a number 0..100, opt_out_next and paused take ON or
// OFF (as Home Assistant's switches send them; also true/false, 1/0).
func ParseCommand(setting string, payload []byte) (control.OwnerChange, error) {
	s := strings.TrimSpace(string(payload))
	if len(s) > 32 {
		return control.OwnerChange{}, fmt.Errorf("%s: payload of %d bytes", setting, len(s))
	}
	switch setting {
	case "reserve_pct":
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return control.OwnerChange{}, fmt.Errorf("reserve_pct %q: %w", s, err)
		}
		return control.OwnerChange{ReservePct: &v}, nil
	case "opt_out_next", "paused":
		on, err := parseSwitch(s)
		if err != nil {
			return control.OwnerChange{}, fmt.Errorf("%s: %w", setting, err)
		}
		if setting == "paused" {
			return control.OwnerChange{Paused: &on}, nil
		}
		return control.OwnerChange{OptOutNext: &on}, nil
	}
	return control.OwnerChange{}, fmt.Errorf("unknown setting %q", setting)
}

func parseSwitch(s string) (bool, error) {
	switch strings.ToUpper(s) {
	case "ON", "TRUE", "1":
		return true, nil
	case "OFF", "FALSE", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q: want ON or OFF", s)
}

// wait waits for tok or ctx, bounded by connectTimeout.
func wait(ctx context.Context, tok paho.Token) error {
	t := time.NewTimer(connectTimeout)
	defer t.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return errors.New("timed out")
	}
}
