package archive

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
)

// SchemaVersion is the version of every table's columns, written in each
// row (schema_version) and in each file's key/value metadata
// (MetaSchemaVersion). It grows when a column changes meaning or is
// removed; a new column alone does not change it (readers of the older
// files see it null).
const SchemaVersion = 1

// MetaSchemaVersion and MetaTable are the keys of a file's key/value
// metadata naming its schema version and its table.
const (
	MetaSchemaVersion = "gridmesh.schema_version"
	MetaTable         = "gridmesh.table"
)

// The tables, each the top directory of its files.
const (
	TableTelemetry  = "telemetry"
	TablePlans      = "plans"
	TableSignals    = "signals"
	TableAggregates = "aggregates"
)

// TelemetryRow is one home's report, as the archiver received it. Powers
// are in W in the load convention (positive: import, charge), energies in
// Wh. A report without a reading (no_reading) has every power and energy
// 0.
type TelemetryRow struct {
	SchemaVersion int32 `parquet:"schema_version"`
	// ReceivedAt is when the archiver received the report; it decides the
	// row's partition.
	ReceivedAt time.Time `parquet:"received_at,timestamp(millisecond)"`
	// At is when the home took the readings (its clock).
	At     time.Time `parquet:"at,timestamp(millisecond)"`
	Nbhd   string    `parquet:"nbhd,dict"`
	Home   string    `parquet:"home,dict"`
	Peer   string    `parquet:"peer,dict"`
	Seq    int64     `parquet:"seq"`
	NetW   float64   `parquet:"net_w"`
	BaseW  float64   `parquet:"base_w"`
	BattW  float64   `parquet:"battery_w"`
	MinW   float64   `parquet:"battery_min_w"`
	MaxW   float64   `parquet:"battery_max_w"`
	SoCPct float64   `parquet:"soc_pct"`
	CapWh  float64   `parquet:"battery_capacity_wh"`
	ChgWh  float64   `parquet:"battery_charge_wh"`
	DisWh  float64   `parquet:"battery_discharge_wh"`
	// PVW and CriticalW are null from homes that do not report loads.
	PVW       *float64 `parquet:"pv_w,optional"`
	CriticalW *float64 `parquet:"critical_w,optional"`
	Islanded  bool     `parquet:"islanded"`
	NoReading bool     `parquet:"no_reading"`
	Cluster   string   `parquet:"cluster,dict"`
}

// PlanRow is one home's setpoint in one plan: a plan of n setpoints is n
// rows sharing nbhd, term and raft_index; a plan without setpoints is one
// row with home "".
type PlanRow struct {
	SchemaVersion int32     `parquet:"schema_version"`
	ReceivedAt    time.Time `parquet:"received_at,timestamp(millisecond)"`
	IssuedAt      time.Time `parquet:"issued_at,timestamp(millisecond)"`
	Nbhd          string    `parquet:"nbhd,dict"`
	Leader        string    `parquet:"leader,dict"`
	Term          int64     `parquet:"term"`
	RaftIndex     int64     `parquet:"raft_index"`
	LeaseMs       int64     `parquet:"lease_ms"`
	TargetSeq     int64     `parquet:"target_seq"`
	TargetW       float64   `parquet:"target_import_w"`
	ShortfallW    float64   `parquet:"shortfall_w"`
	Home          string    `parquet:"home,dict"`
	SetpointW     float64   `parquet:"setpoint_net_w"`
	Island        bool      `parquet:"island"`
	PVLimitW      float64   `parquet:"pv_limit_w"`
	Shed          int32     `parquet:"shed_flags"`
}

// SignalRow is one operator signal (one step of a regulation stream).
type SignalRow struct {
	SchemaVersion int32     `parquet:"schema_version"`
	ReceivedAt    time.Time `parquet:"received_at,timestamp(millisecond)"`
	ID            string    `parquet:"signal_id,dict"`
	Kind          string    `parquet:"kind,dict"`
	Region        string    `parquet:"region,dict"`
	Start         time.Time `parquet:"start,timestamp(millisecond)"`
	End           time.Time `parquet:"end,timestamp(millisecond)"`
	AmountW       float64   `parquet:"amount_w"`
	Seq           int64     `parquet:"seq"`
	Value         float64   `parquet:"value"`
}

// AggregateRow is one neighborhood leader's offer to its region.
type AggregateRow struct {
	SchemaVersion int32     `parquet:"schema_version"`
	ReceivedAt    time.Time `parquet:"received_at,timestamp(millisecond)"`
	At            time.Time `parquet:"at,timestamp(millisecond)"`
	Nbhd          string    `parquet:"nbhd,dict"`
	Leader        string    `parquet:"leader,dict"`
	Term          int64     `parquet:"term"`
	RaftIndex     int64     `parquet:"raft_index"`
	ForS          int64     `parquet:"for_s"`
	UpW           float64   `parquet:"up_w"`
	DownW         float64   `parquet:"down_w"`
	UpWh          float64   `parquet:"up_wh"`
	DownWh        float64   `parquet:"down_wh"`
}

// telemetryRow turns a report from author, received at now, into its
// row.
func telemetryRow(t gridmesh.Telemetry, author peer.ID, now time.Time) TelemetryRow {
	r := TelemetryRow{
		SchemaVersion: SchemaVersion,
		ReceivedAt:    now.UTC(),
		At:            time.UnixMilli(t.AtMs).UTC(),
		Nbhd:          string(t.Neighborhood),
		Home:          string(t.Home),
		Peer:          author.String(),
		Seq:           int64(t.Seq),
		NetW:          float64(t.NetW),
		BaseW:         float64(t.BaseW),
		BattW:         float64(t.Battery.PowerW),
		MinW:          float64(t.Battery.MinW),
		MaxW:          float64(t.Battery.MaxW),
		SoCPct:        t.Battery.SoC * 100,
		CapWh:         float64(t.Battery.CapacityWh),
		ChgWh:         float64(t.Battery.ChargeWh),
		DisWh:         float64(t.Battery.DischargeWh),
		NoReading:     t.NoReading,
		Cluster:       t.Cluster,
	}
	if l := t.Loads; l != nil {
		pv, crit := float64(l.PVW), float64(l.CriticalW)
		r.PVW, r.CriticalW, r.Islanded = &pv, &crit, l.Islanded
	}
	return r
}

// planRows turns a plan from author, received at now, into one row per
// setpoint (one row with home "" for a plan without setpoints).
func planRows(p gridmesh.Plan, author peer.ID, now time.Time) []PlanRow {
	base := PlanRow{
		SchemaVersion: SchemaVersion,
		ReceivedAt:    now.UTC(),
		IssuedAt:      time.UnixMilli(p.IssuedAtMs).UTC(),
		Nbhd:          string(p.Neighborhood),
		Leader:        author.String(),
		Term:          int64(p.Epoch.Term),
		RaftIndex:     int64(p.Epoch.Index),
		LeaseMs:       int64(p.LeaseMs),
		TargetSeq:     int64(p.Target.Seq),
		TargetW:       float64(p.Target.ImportW),
		ShortfallW:    float64(p.ShortfallW),
	}
	if len(p.Setpoints) == 0 {
		return []PlanRow{base}
	}
	rows := make([]PlanRow, len(p.Setpoints))
	for i, s := range p.Setpoints {
		r := base
		r.Home, r.SetpointW = string(s.Home), float64(s.NetW)
		r.Island, r.PVLimitW, r.Shed = s.Island, float64(s.PVLimitW), int32(s.Shed)
		rows[i] = r
	}
	return rows
}

// signalRow turns an operator signal received at now into its row.
func signalRow(s gridmesh.Signal, now time.Time) SignalRow {
	return SignalRow{
		SchemaVersion: SchemaVersion,
		ReceivedAt:    now.UTC(),
		ID:            s.ID,
		Kind:          s.Kind.String(),
		Region:        s.Region,
		Start:         s.Start().UTC(),
		End:           s.End().UTC(),
		AmountW:       float64(s.AmountW),
		Seq:           int64(s.Seq),
		Value:         s.Value,
	}
}

// aggregateRow turns a leader's aggregate received at now into its row.
func aggregateRow(a gridmesh.Aggregate, author peer.ID, now time.Time) AggregateRow {
	return AggregateRow{
		SchemaVersion: SchemaVersion,
		ReceivedAt:    now.UTC(),
		At:            time.UnixMilli(a.AtMs).UTC(),
		Nbhd:          string(a.Neighborhood),
		Leader:        author.String(),
		Term:          int64(a.Epoch.Term),
		RaftIndex:     int64(a.Epoch.Index),
		ForS:          int64(a.ForS),
		UpW:           float64(a.UpW),
		DownW:         float64(a.DownW),
		UpWh:          float64(a.UpWh),
		DownWh:        float64(a.DownWh),
	}
}
