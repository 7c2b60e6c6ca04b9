package mqtt

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"
)

// Defaults, and why.
const (
	// DefaultQoS is 1: at least once. A state update or a setpoint lost
	// to a dropped connection is sent again; a duplicate is harmless
	// (every message carries a whole state or an absolute setpoint).
	DefaultQoS = 1
	// DefaultStaleAfter is three missed updates of a device publishing
	// every 5 s, a common default of MQTT gateways: one lost update is
	// no outage, a device silent for 15 s is not steering anything.
	DefaultStaleAfter = 15 * time.Second
	// DefaultReconnectMin is the first reconnect delay: a broker restart
	// takes a second or so; retrying faster only adds load.
	DefaultReconnectMin = 500 * time.Millisecond
	// DefaultReconnectMax caps the delay: a broker that comes back is in
	// use again within 30 s, and a home's clients retrying no faster than
	// that cannot overload it.
	DefaultReconnectMax = 30 * time.Second
	// DefaultResolutionW is 1 W: what device power registers and
	// payloads resolve, and finer than any battery holds its power.
	DefaultResolutionW = 1.0
	// maxResolutionW: a step above 1 kW is a setting in kilowatts by
	// mistake.
	maxResolutionW = 1000.0
	// minResolutionW: a milliwatt, six decimals, the finest step a
	// setpoint renders to.
	minResolutionW = 1e-3
	// maxTopicLen is MQTT's limit on a UTF-8 string (§1.5.3).
	maxTopicLen = 65535
)

// Config is one MQTT device: where its broker is, which topics carry its
// state and its setpoints, and how its payloads are laid out. Start from
// DefaultConfig and set Broker and the topics.
type Config struct {
	// Broker is the broker's URL: tcp://host:port.
	Broker string
	// ClientID identifies the driver at the broker and must be unique
	// there. Empty: "gridmesh-<Device>-<random>", chosen by New.
	ClientID string
	// Username and Password authenticate at the broker; both empty for an
	// anonymous broker. A password needs a username.
	Username, Password string
	// Device names the device in errors and logs (default: the kind).
	Device string
	// Kind is what the device is: battery, meter, pv, charger, heatpump
	// or loads.
	Kind Kind
	// StateTopic is where the device publishes its state as a JSON
	// document, read by the fields that name no topic of their own. It
	// may be empty when every field has its own topic or is a constant.
	// One device per topic: wildcards are refused.
	StateTopic string
	// SetTopic is where the driver publishes setpoints. Required for a
	// battery, pv, charger and heatpump; optional for loads (without it
	// ShedNonCritical fails); must be empty for a meter.
	SetTopic string
	// Fields maps the reading's fields (the keys, listed per kind in the
	// package doc) to where each is read: a JSON key or path of the state
	// payload ("power_w", "ENERGY.Power", "inverter.0.AC.0.Power.v"), a jq
	// expression ("jq:.ENERGY.Power | add"), a topic of its own
	// ("topic:solar/114/0/power", its payload a plain value, or
	// "topic:N/x/system/0/Dc/Battery/Soc#value" with a path or jq after
	// the '#'), or a constant the device does not publish
	// ("const:10000"). DefaultConfig maps every field to its default key;
	// override what a device names differently, and map an optional field
	// to "" when the device does not send it. A required field must stay
	// mapped. A jq expression is compiled by Validate: one that does not
	// compile is a config error naming the field.
	Fields map[string]string
	// SoCPercent reads a battery's state of charge as 0..100 instead of
	// 0..1.
	SoCPercent bool
	// SetTemplate is a text/template that renders a setpoint's payload
	// from a SetpointData, e.g. {"power_w": {{.PowerW}}} (the default for
	// a battery). Empty for a meter.
	SetTemplate string
	// QoS is the MQTT quality of service of the state subscription and
	// of setpoints: 0, 1 or 2.
	QoS byte
	// StaleAfter is how long a state update is good for: past it, with
	// no newer one, the device is unavailable. The device must publish
	// more often than this.
	StaleAfter time.Duration
	// ReconnectMin and ReconnectMax bound the delay between connection
	// attempts (capped exponential backoff with jitter).
	ReconnectMin, ReconnectMax time.Duration
	// ResolutionW is the step a setpoint's power is rounded to before it
	// is rendered: the device's own resolution (1 W for most; 10 or 100 W
	// for some gateways). A setpoint renders as a short decimal, never
	// as float noise such as -865.1999999999999.
	ResolutionW float64
	// ReleasePayload, when set, is published on SetTopic by Release: the
	// device's own word for "back to your default mode" (e.g.
	// {"mode": "auto"}). Empty: Release only stops sending setpoints.
	ReleasePayload string
	// WillPayload, when set, is registered with the broker on every
	// connection as the driver's last will on SetTopic: the broker
	// publishes it when the driver's connection dies without a clean
	// disconnect (the node killed, its host gone), so the device hears
	// the node die. Usually the same as ReleasePayload. Not retained.
	WillPayload string
	// KeepaliveTopic, when set, is published KeepalivePayload on every
	// connection and then every KeepaliveEvery: for devices that publish
	// only while a client asks them to (a Victron GX device stops after
	// 60 s without a keepalive). Not retained.
	KeepaliveTopic   string
	KeepalivePayload string
	KeepaliveEvery   time.Duration
}

// maxReleasePayload bounds ReleasePayload and WillPayload: a device's
// mode command is a few dozen bytes; 64 KiB is a file pasted by mistake.
const maxReleasePayload = 64 << 10

// DefaultConfig returns the defaults for a device of kind k: every field
// mapped to its documented JSON key, the kind's default SetTemplate, QoS
// 1, DefaultStaleAfter, the reconnect defaults and DefaultResolutionW. Broker and the topics
// are left for the caller. Each call returns a fresh Fields map.
func DefaultConfig(k Kind) Config {
	c := Config{
		Device:       string(k),
		Kind:         k,
		Fields:       map[string]string{},
		QoS:          DefaultQoS,
		StaleAfter:   DefaultStaleAfter,
		ReconnectMin: DefaultReconnectMin,
		ReconnectMax: DefaultReconnectMax,
		ResolutionW:  DefaultResolutionW,
	}
	if spec, ok := specs[k]; ok {
		for _, f := range spec.fields {
			c.Fields[f.name] = f.key
		}
		if spec.set != nil {
			c.SetTemplate = spec.set.template
		}
	}
	return c
}

// Validate checks every setting and every setting against the others, and
// reports all problems at once. Errors wrap ErrInvalidConfig.
func (c Config) Validate() error {
	var p problems
	spec, ok := specs[c.Kind]
	if !ok {
		p.add("kind %q is not one of %v", c.Kind, Kinds())
	}
	if c.Device == "" {
		p.add("device name is empty")
	}
	c.validateConnection(&p)
	if c.StateTopic != "" {
		if err := validTopic(c.StateTopic); err != nil {
			p.add("state topic %q: %v", c.StateTopic, err)
		}
	}
	if ok {
		c.validateKind(spec, &p)
	}
	c.validatePublished(&p)
	return errors.Join(p...)
}

// problems collects what is wrong with a Config, each an
// ErrInvalidConfig.
type problems []error

func (p *problems) add(format string, args ...any) {
	*p = append(*p, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
}

// validateConnection checks the broker session: address, credentials,
// QoS, staleness, reconnect backoff and keepalive.
func (c Config) validateConnection(p *problems) {
	if err := validBroker(c.Broker); err != nil {
		p.add("broker %q: %v", c.Broker, err)
	}
	if c.Password != "" && c.Username == "" {
		p.add("a password needs a username")
	}
	if c.KeepaliveTopic != "" {
		if err := validTopic(c.KeepaliveTopic); err != nil {
			p.add("keepalive topic %q: %v", c.KeepaliveTopic, err)
		}
		if c.KeepaliveEvery <= 0 {
			p.add("keepalive every %v must be positive", c.KeepaliveEvery)
		}
	}
	if c.QoS > 2 {
		p.add("QoS %d is not 0, 1 or 2", c.QoS)
	}
	if c.StaleAfter <= 0 {
		p.add("StaleAfter %v must be positive", c.StaleAfter)
	}
	if c.ReconnectMin <= 0 || c.ReconnectMax < c.ReconnectMin {
		p.add("reconnect backoff %v..%v must satisfy 0 < min <= max", c.ReconnectMin, c.ReconnectMax)
	}
}

// validateKind checks what the device's kind decides: the fields read
// and where from, and where and how setpoints are published.
func (c Config) validateKind(spec *kindSpec, p *problems) {
	dec, err := newDecoder(c)
	if err != nil {
		*p = append(*p, fmt.Errorf("%w: %w", ErrInvalidConfig, err))
	} else if len(dec.topics) == 0 {
		p.add("no field is read from a topic: set a state topic or give fields topics of their own")
	}
	switch {
	case spec.set == nil && c.SetTopic != "":
		p.add("a %s takes no setpoints: set topic must be empty", c.Kind)
	case spec.set == nil && c.SetTemplate != "":
		p.add("a %s takes no setpoints: set template must be empty", c.Kind)
	case spec.set != nil && c.SetTopic == "" && c.Kind != KindLoads:
		p.add("a %s needs a set topic", c.Kind)
	case c.SetTopic != "":
		if err := validTopic(c.SetTopic); err != nil {
			p.add("set topic %q: %v", c.SetTopic, err)
		}
		if _, reads := dec.byTopic[c.SetTopic]; reads || c.SetTopic == c.StateTopic {
			p.add("set topic %q is also read for state: the driver would read its own setpoints as state", c.SetTopic)
		}
		if _, err := parseSetTemplate(c.SetTemplate); err != nil {
			p.add("set template: %v", err)
		}
		if usesGrid(c.SetTemplate) && (c.Kind != KindBattery || c.Fields["grid"] == "") {
			p.add("set template uses .GridW: that needs a battery with its grid field mapped")
		}
	}
	*p = append(*p, c.validateFields(spec)...)
	if c.SoCPercent && c.Kind != KindBattery {
		p.add("SoCPercent is for a battery, not a %s", c.Kind)
	}
}

// validatePublished checks what the driver publishes besides setpoints:
// release and will payloads, and the setpoints' resolution.
func (c Config) validatePublished(p *problems) {
	for name, pl := range map[string]string{"release payload": c.ReleasePayload, "will payload": c.WillPayload} {
		switch {
		case pl == "":
		case c.SetTopic == "":
			p.add("a %s needs a set topic to be published on", name)
		case len(pl) > maxReleasePayload:
			p.add("%s of %d bytes, at most %d", name, len(pl), maxReleasePayload)
		}
	}
	if r := c.ResolutionW; !(r >= minResolutionW && r <= maxResolutionW) { // NaN fails too
		p.add("resolution %v W outside [%v, %v]", r, minResolutionW, maxResolutionW)
	}
}

// validateFields checks Fields against the kind's fields.
func (c Config) validateFields(spec *kindSpec) []error {
	var errs []error
	known := map[string]bool{}
	for _, f := range spec.fields {
		known[f.name] = true
		if f.required && c.Fields[f.name] == "" {
			errs = append(errs, fmt.Errorf("%w: field %q is required for a %s and must be mapped (a JSON key or path, jq:, topic: or const:)", ErrInvalidConfig, f.name, c.Kind))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Fields)) {
		if !known[name] {
			errs = append(errs, fmt.Errorf("%w: a %s has no field %q (it has %v)", ErrInvalidConfig, c.Kind, name, fieldNames(spec)))
		}
	}
	return errs
}

// fieldNames lists a kind's field names.
func fieldNames(spec *kindSpec) []string {
	names := make([]string, len(spec.fields))
	for i, f := range spec.fields {
		names[i] = f.name
	}
	return names
}

// validBroker accepts tcp://host:port and nothing else.
func validBroker(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "tcp" {
		return errors.New("want tcp://host:port")
	}
	if u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("want tcp://host:port, nothing more (credentials go in Username and Password)")
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || host == "" || port == "" {
		return errors.New("want tcp://host:port with both host and port")
	}
	return nil
}

// validTopic accepts a topic one may publish to and subscribe to as is.
func validTopic(t string) error {
	switch {
	case t == "":
		return errors.New("empty")
	case len(t) > maxTopicLen:
		return fmt.Errorf("%d bytes, at most %d", len(t), maxTopicLen)
	case !utf8.ValidString(t) || strings.ContainsRune(t, 0):
		return errors.New("not valid UTF-8 without NUL")
	case strings.ContainsAny(t, "+#"):
		return errors.New("wildcards name many devices; give one device's topic")
	}
	return nil
}

// parseSetTemplate parses a SetTemplate and tries it on sample setpoints,
// so a template that cannot render fails at Validate, not at the first
// setpoint.
func parseSetTemplate(s string) (*template.Template, error) {
	if s == "" {
		return nil, errors.New("empty")
	}
	t, err := template.New("set").Option("missingkey=error").Parse(s)
	if err != nil {
		return nil, err
	}
	for _, d := range []SetpointData{{}, {PowerW: -1234.5, GridW: 300, Shed: true}} {
		var b bytes.Buffer
		if err := t.Execute(&b, d); err != nil {
			return nil, err
		}
		if b.Len() == 0 {
			return nil, errors.New("renders an empty payload")
		}
	}
	return t, nil
}
