package dashboard

// Page is one snapshot of what the page shows: a home (Kind "home",
// with Home, Neighborhood and Region) or a city (Kind "city", with
// City). Powers are in W (positive: import, or charging), energies in
// kWh, state of charge in 0..1, times in Unix milliseconds and ages in
// milliseconds. A figure the source does not know is absent (null),
// never zero.
type Page struct {
	Kind string `json:"kind"`
	// AtMs is when the snapshot was taken.
	AtMs         int64         `json:"at_ms"`
	Home         *Home         `json:"home,omitempty"`
	Neighborhood *Neighborhood `json:"neighborhood,omitempty"`
	Region       *Region       `json:"region,omitempty"`
	City         *City         `json:"city,omitempty"`
}

// Page kinds.
const (
	KindHome = "home"
	KindCity = "city"
)

// Home is one home's own figures.
type Home struct {
	ID           string `json:"id"`
	Neighborhood string `json:"neighborhood"`
	PeerID       string `json:"peer_id"`
	// Mode is "plan" while the home follows a plan, else "autonomous".
	Mode string `json:"mode"`
	// NetW is the net import at the home's meter, AimNetW what the loop
	// aims for, BaseW what the home would import with its battery idle.
	NetW    *float64 `json:"net_w"`
	AimNetW float64  `json:"aim_net_w"`
	BaseW   *float64 `json:"base_w"`
	// BatteryW is the battery's commanded power, SoC its state of charge.
	BatteryW *float64 `json:"battery_w"`
	SoC      *float64 `json:"soc"`
	// DroopW is the primary frequency response in the battery command;
	// FrequencyHz the grid frequency at the meter (absent: not measured).
	DroopW      float64  `json:"droop_w"`
	FrequencyHz *float64 `json:"frequency_hz"`
	// GridOK is false while the meter sees the grid gone: the home is
	// islanded (or dark). Shed names the load classes disconnected.
	GridOK bool     `json:"grid_ok"`
	Shed   []string `json:"shed"`
	Plan   Plan     `json:"plan"`
	// Devices are the home's devices in kind order.
	Devices []Device `json:"devices"`
	// EnergyToday are the energy totals since SinceMs (local midnight,
	// or when the home started counting today if later).
	EnergyToday *Energy `json:"energy_today"`
}

// Plan is the plan a home follows.
type Plan struct {
	// Has is true while a valid plan is followed.
	Has bool `json:"has"`
	// Epoch is the plan's "term/index".
	Epoch string `json:"epoch"`
	// TargetW is the neighborhood target the plan carries out.
	TargetW float64 `json:"target_w"`
	// AgeMs is how long ago the leader issued it; LeaseLeftMs how long
	// it may still be followed.
	AgeMs       int64 `json:"age_ms"`
	LeaseLeftMs int64 `json:"lease_left_ms"`
}

// Device is one device of a home.
type Device struct {
	Kind string `json:"kind"`
	// Breaker is the guard's circuit breaker: "closed" (calls go
	// through), "half-open" or "open".
	Breaker   string `json:"breaker"`
	Available bool   `json:"available"`
	// PowerW is the device's power now, SoC a battery's state of charge.
	PowerW *float64 `json:"power_w"`
	SoC    *float64 `json:"soc"`
	// LastError is the newest failed call's error.
	LastError string `json:"last_error,omitempty"`
}

// Energy are energy totals in kWh over a span from SinceMs.
type Energy struct {
	SinceMs          int64   `json:"since_ms"`
	GridImport       float64 `json:"grid_import_kwh"`
	GridExport       float64 `json:"grid_export_kwh"`
	BatteryCharge    float64 `json:"battery_charge_kwh"`
	BatteryDischarge float64 `json:"battery_discharge_kwh"`
	PVProduction     float64 `json:"pv_production_kwh"`
	LoadServed       float64 `json:"load_served_kwh"`
	LoadShed         float64 `json:"load_shed_kwh"`
}

// Neighborhood is a home's view of its neighborhood.
type Neighborhood struct {
	ID string `json:"id"`
	// Leader is the Raft leader's peer ID ("" while none is known),
	// LeaderHome its home ID when this home has heard it report.
	Leader     string `json:"leader"`
	LeaderHome string `json:"leader_home"`
	Term       uint64 `json:"term"`
	// Voters are the voting members' peer IDs; Members counts every
	// member of the Raft group.
	Voters  []Member `json:"voters"`
	Members int      `json:"members"`
	// TargetW is the import the neighborhood is asked for.
	TargetW *float64 `json:"target_w"`
	// FeederW is the neighborhood's metered import: the sum of the net
	// import its homes' meters reported within the telemetry age limit
	// (absent when this home heard none). HomesHeard counts them.
	FeederW    *float64 `json:"feeder_w"`
	HomesHeard int      `json:"homes_heard"`
	// Listening is whether this home hears its neighbors' reports (a
	// voter does; a home that does not vote listens only when its
	// neighborhood needs it to).
	Listening bool `json:"listening"`
	// Homes are the homes this home knows of, from their reports and
	// the plan it follows, sorted by ID; at most MaxHomes of them, and
	// HomesNotShown counts the rest.
	Homes         []NeighborHome `json:"homes"`
	HomesNotShown int            `json:"homes_not_shown"`
}

// MaxHomes bounds the homes a Neighborhood lists: a page refreshed every
// second stays small (a neighborhood is one feeder, tens of homes).
const MaxHomes = 200

// Member is a Raft member.
type Member struct {
	Peer string `json:"peer"`
	Home string `json:"home,omitempty"`
}

// NeighborHome is one home of the neighborhood.
type NeighborHome struct {
	ID     string `json:"id"`
	Voter  bool   `json:"voter"`
	Leader bool   `json:"leader"`
	// NetW, SoC, UpW and DownW come from its newest report: what it
	// imports, its battery's charge, and how much its battery can
	// discharge (UpW) and charge (DownW) now. Absent without a fresh
	// report with a reading.
	NetW  *float64 `json:"net_w"`
	SoC   *float64 `json:"soc"`
	UpW   *float64 `json:"up_w"`
	DownW *float64 `json:"down_w"`
	// ReportAgeMs is how old its newest report is (absent: none heard).
	ReportAgeMs *int64 `json:"report_age_ms"`
	// SetpointW is its setpoint in the plan this home follows.
	SetpointW *float64 `json:"setpoint_w"`
}

// Region is the signals in force in the home's region.
type Region struct {
	Name    string   `json:"name"`
	Signals []Signal `json:"signals"`
	// ShareW is this neighborhood's share of them, OffsetW the import
	// reduction it makes for them.
	ShareW  float64 `json:"share_w"`
	OffsetW float64 `json:"offset_w"`
}

// Signal is one operator signal in force.
type Signal struct {
	ID       string  `json:"id"`
	Kind     string  `json:"kind"`
	StartMs  int64   `json:"start_ms"`
	EndMs    int64   `json:"end_ms"`
	RequestW float64 `json:"request_w"`
	ShareW   float64 `json:"share_w"`
}

// City is a whole city: its neighborhoods and homes.
type City struct {
	Neighborhoods []CityNeighborhood `json:"neighborhoods"`
}

// CityNeighborhood is one neighborhood of a city.
type CityNeighborhood struct {
	ID string `json:"id"`
	// Leader is the leading home's ID ("" while none leads).
	Leader  string   `json:"leader"`
	Term    uint64   `json:"term"`
	TargetW *float64 `json:"target_w"`
	// FeederW is the sum of its live homes' meters.
	FeederW *float64   `json:"feeder_w"`
	Homes   []CityHome `json:"homes"`
}

// CityHome is one home of a city.
type CityHome struct {
	ID    string `json:"id"`
	Alive bool   `json:"alive"`
	Voter bool   `json:"voter"`
	// Leader is true for the home that leads its neighborhood.
	Leader bool     `json:"leader"`
	Mode   string   `json:"mode"`
	NetW   *float64 `json:"net_w"`
	SoC    *float64 `json:"soc"`
	// URL is the home's own page ("" when it serves none).
	URL string `json:"url"`
}
