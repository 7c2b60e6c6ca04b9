package homefile

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"
)

// File is one home, as its YAML file describes it.
type File struct {
	// Home names the home; Neighborhood its feeder; Network the
	// deployment (gossip topics carry it).
	Home         ID `yaml:"home"`
	Neighborhood ID `yaml:"neighborhood"`
	Network      ID `yaml:"network"`
	// Listen are the libp2p listen multiaddrs (default: all interfaces,
	// TCP 4001, and UDP 4001 for QUIC while nat.quic is on).
	Listen []string `yaml:"listen"`
	// NAT switches NAT traversal's parts; each is on unless set false.
	NAT NAT `yaml:"nat"`
	// Bootstrap are multiaddrs (with /p2p/<id>) of homes to dial first.
	Bootstrap []string `yaml:"bootstrap"`
	// DataDir holds the home's identity key, Raft state and energy
	// totals.
	DataDir string `yaml:"data_dir"`
	// HTTP is the address of the status and metrics endpoint ("" = none).
	HTTP string `yaml:"http"`
	// Raft says how the neighborhood's Raft group forms: by itself from
	// the homes it finds (the default), or from a configured list.
	Raft Raft `yaml:"raft"`
	// Admission is required: either the neighborhood's public key and
	// this home's membership certificate (`gridmesh neighborhood invite
	// --config` prints the block), so that only the neighborhood's
	// members read its data and steer it, or `{open: true}`, for demos,
	// so that anyone who can reach the home does. Build refuses a file
	// without it.
	Admission *Admission `yaml:"admission"`
	// OperatorKeys are the grid operators' public keys (standard base64,
	// as `gridmesh keygen` prints them): only signals they signed steer
	// the home's neighborhood. Empty: every signal is refused.
	OperatorKeys []string `yaml:"operator_keys"`
	// TargetW, when set, is the neighborhood's feeder import target this
	// home dispatches to while it leads (until operator requests arrive),
	// and the net import the home itself aims for before its first plan.
	TargetW *Power `yaml:"target_w"`
	// Reserve, when set, makes the home, while it leads, keep battery
	// energy back ahead of the evening peak (17-21 h, from 11 h) from a
	// forecast: PV from a clear-sky model of the neighborhood's array
	// scaled by recent clearness, load from the same hours of recent
	// days.
	Reserve *Reserve `yaml:"reserve"`
	// MQTTPublish, when set, publishes the home to Home Assistant
	// (mqttpublish.go).
	MQTTPublish *MQTTPublish `yaml:"mqtt_publish"`
	// Devices are the home's devices.
	Devices []Device `yaml:"devices"`
}

// NAT switches the parts of NAT traversal (mesh.NATConfig says what
// each does). A home does not know whether it sits behind a NAT router:
// every part is on by default, so a home behind one is reached through a
// relay and then a hole punch, and a home that is reachable relays for
// the others.
type NAT struct {
	QUIC         *bool `yaml:"quic"`
	AutoNAT      *bool `yaml:"autonat"`
	RelayService *bool `yaml:"relay_service"`
	AutoRelay    *bool `yaml:"auto_relay"`
	HolePunching *bool `yaml:"hole_punching"`
}

// Admission names the neighborhood's public key and this home's
// membership certificate, both PEM files; or, with Open, neither.
type Admission struct {
	NeighborhoodKey string `yaml:"neighborhood_key"`
	Certificate     string `yaml:"certificate"`
	// PreviousNeighborhoodKey and PreviousKeyUntil: after the
	// neighborhood's key was rotated, its previous public key file and
	// when certificates it signed stop being accepted (RFC 3339). Both
	// or neither.
	PreviousNeighborhoodKey string    `yaml:"previous_neighborhood_key"`
	PreviousKeyUntil        time.Time `yaml:"previous_key_until"`
	// Open admits anyone: every peer that reaches the home reads its
	// neighborhood's telemetry and plans. For demos and tests only.
	Open bool `yaml:"open"`
}

// ErrNoAdmission is Build's error for a home file without an admission
// block. Its message says how to add one.
var ErrNoAdmission = errors.New(`no admission: block. A home joins only a neighborhood it holds a certificate for. ` +
	`Admit it: "gridmesh neighborhood init --id NEIGHBORHOOD --out keys/" once per neighborhood, then ` +
	`"gridmesh neighborhood invite --key keys/neighborhood.key --config HOMEFILE" issues the home's certificate and prints the admission: block to paste. ` +
	`Or, for a demo, open it with "admission: {open: true}": then anyone who can reach the home reads its neighborhood's data`)

// Reserve places and sizes the neighborhood's PV for the clear-sky model.
type Reserve struct {
	LatitudeDeg  float64 `yaml:"latitude"`
	LongitudeDeg float64 `yaml:"longitude"`
	// PVPeak is the neighborhood's PV at 1000 W/m², all homes together.
	PVPeak Power `yaml:"pv_peak"`
}

// Raft is how the neighborhood's Raft group forms. With Servers empty
// (the default) the homes organize themselves: the first BootstrapExpect
// homes without state found the group (default 3; 1 for a home alone),
// and its leader admits the others and keeps the voters. Servers, if
// set, is a static membership instead, identical in every home's file.
//
// Timing is "lan" (the default: 200 ms heartbeat and election timeouts,
// a 150 ms leader lease, 3 s plan lease; failover in about half a
// second) or "wan" (hashicorp/raft's own defaults, 1 s, 1 s and 500 ms,
// and a 6 s plan lease): for homes that reach each other over home
// broadband, or run on a busy box, where a LAN's timeouts would depose
// leaders that are merely slow. Every home of a neighborhood should use
// the same.
type Raft struct {
	BootstrapExpect *int     `yaml:"bootstrap_expect"`
	Servers         []Server `yaml:"servers"`
	Timing          string   `yaml:"timing"`
}

// Server is one Raft member: a home's libp2p peer ID and whether it votes.
type Server struct {
	ID    string `yaml:"id"`
	Voter bool   `yaml:"voter"`
}

// Device is one device: a name, what it is, and the driver that reaches it.
type Device struct {
	Name ID `yaml:"name"`
	// Kind is battery, meter, pv, charger, heatpump or loads; a driver may
	// serve several kinds from one device (a sim home, a hybrid inverter).
	Kinds []string `yaml:"kinds"`
	// Driver is sim, mqtt, sunspec or ocpp; exactly the matching block is set.
	Driver  string   `yaml:"driver"`
	Sim     *Sim     `yaml:"sim"`
	MQTT    *MQTT    `yaml:"mqtt"`
	SunSpec *SunSpec `yaml:"sunspec"`
	OCPP    *OCPP    `yaml:"ocpp"`
	// line is where the device starts, for errors found after decoding.
	line int
}

// Kinds a device may have.
var Kinds = []string{"battery", "meter", "pv", "charger", "heatpump", "loads"}

// Drivers a device may use.
var Drivers = []string{"sim", "mqtt", "sunspec", "ocpp"}

// Load reads and validates the file at path.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("home file: %w", err)
	}
	f, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Parse decodes and validates a home file's content strictly: unknown
// keys and bad values are errors naming their line.
func Parse(b []byte) (*File, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty home file")
		}
		return nil, err
	}
	if err := dec.Decode(new(any)); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document: a home file holds one home")
	}
	// Decode again into nodes to know each device's line.
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err == nil {
		if devs := findKey(&root, "devices"); devs != nil && devs.Kind == yaml.SequenceNode {
			for i, n := range devs.Content {
				if i < len(f.Devices) {
					f.Devices[i].line = n.Line
				}
			}
		}
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

// findKey returns the value node of key in the document's top mapping.
func findKey(doc *yaml.Node, key string) *yaml.Node {
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == key {
			return doc.Content[i+1]
		}
	}
	return nil
}

// validate checks what decoding could not: required keys and cross-field
// rules.
func (f *File) validate() error {
	var errs []error
	if f.Home == "" {
		errs = append(errs, errors.New("home: required"))
	}
	if f.Neighborhood == "" {
		errs = append(errs, errors.New("neighborhood: required"))
	}
	if f.DataDir == "" {
		errs = append(errs, errors.New("data_dir: required (the home's identity key and Raft state live there)"))
	}
	for i, k := range f.OperatorKeys {
		if b, err := base64.StdEncoding.DecodeString(k); err != nil || len(b) != ed25519.PublicKeySize {
			errs = append(errs, fmt.Errorf("operator_keys[%d]: want a %d-byte ed25519 public key in standard base64 (gridmesh keygen prints it)", i, ed25519.PublicKeySize))
		}
	}
	if a := f.Admission; a != nil && a.Open && (a.NeighborhoodKey != "" || a.Certificate != "") {
		errs = append(errs, errors.New("admission: open, or neighborhood_key and certificate, not both"))
	}
	if a := f.Admission; a != nil && !a.Open && (a.NeighborhoodKey == "" || a.Certificate == "") {
		errs = append(errs, errors.New("admission: neighborhood_key and certificate are both required (or open: true)"))
	}
	if a := f.Admission; a != nil && (a.PreviousNeighborhoodKey == "") != a.PreviousKeyUntil.IsZero() {
		errs = append(errs, errors.New("admission: previous_neighborhood_key and previous_key_until go together (a rotated key and the end of its overlap)"))
	}
	if f.MQTTPublish != nil {
		if _, err := f.MQTTPublish.config(); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, f.validateDevices()...)
	return errors.Join(errs...)
}

// validateDevices checks the device list: names, kinds served once, one
// driver block each, and a battery and a meter.
func (f *File) validateDevices() []error {
	var errs []error
	names := map[ID]bool{}
	kinds := map[string]ID{}
	for i := range f.Devices {
		d := &f.Devices[i]
		where := fmt.Sprintf("line %d: device %d", d.line, i+1)
		if d.Name == "" {
			errs = append(errs, fmt.Errorf("%s: name: required", where))
		} else {
			where = fmt.Sprintf("line %d: device %s", d.line, d.Name)
		}
		if names[d.Name] {
			errs = append(errs, fmt.Errorf("%s: name used twice", where))
		}
		names[d.Name] = true
		if len(d.Kinds) == 0 {
			errs = append(errs, fmt.Errorf("%s: kinds: required, some of %v", where, Kinds))
		}
		for _, k := range d.Kinds {
			if !slices.Contains(Kinds, k) {
				errs = append(errs, fmt.Errorf("%s: kind %q: want one of %v", where, k, Kinds))
				continue
			}
			if other, dup := kinds[k]; dup {
				errs = append(errs, fmt.Errorf("%s: a %s is already served by device %s: a home has one of each", where, k, other))
			}
			kinds[k] = d.Name
		}
		set := 0
		for _, b := range []bool{d.Sim != nil, d.MQTT != nil, d.SunSpec != nil, d.OCPP != nil} {
			if b {
				set++
			}
		}
		switch {
		case !slices.Contains(Drivers, d.Driver):
			errs = append(errs, fmt.Errorf("%s: driver %q: want one of %v", where, d.Driver, Drivers))
		case set != 1 || d.Driver == "sim" && d.Sim == nil || d.Driver == "mqtt" && d.MQTT == nil || d.Driver == "sunspec" && d.SunSpec == nil || d.Driver == "ocpp" && d.OCPP == nil:
			errs = append(errs, fmt.Errorf("%s: driver %s needs its own block (%s:) and no other driver's", where, d.Driver, d.Driver))
		default:
			if err := d.validateDriver(); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
			}
		}
	}
	if _, ok := kinds["battery"]; len(f.Devices) > 0 && !ok {
		errs = append(errs, errors.New("devices: no battery: gridmesh steers a home through its battery"))
	}
	if _, ok := kinds["meter"]; len(f.Devices) > 0 && !ok {
		errs = append(errs, errors.New("devices: no meter: the loop holds the home's net import at its meter"))
	}
	if len(f.Devices) == 0 {
		errs = append(errs, errors.New("devices: required (at least a battery and a meter)"))
	}
	return errs
}
