package consensus

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gridmesh/gridmesh"
)

// minTimeout is the smallest heartbeat, election or lease timeout raft
// accepts; Validate checks it so a bad Config fails here, with our words.
const minTimeout = 5 * time.Millisecond

// Server is one member of a neighborhood's Raft group.
type Server struct {
	// ID is the member's libp2p peer ID string; it is also its Raft
	// ServerID and ServerAddress.
	ID string
	// Voter is whether the member votes and may lead. A non-voter only
	// receives committed plans.
	Voter bool
}

// Config configures one home's member of its neighborhood's group.
type Config struct {
	// Neighborhood names the group; it is part of the stream protocol.
	Neighborhood gridmesh.NeighborhoodID
	// LocalID is this home's peer ID string; it must match the host Open
	// is given, and be in Servers when Servers is set.
	LocalID string
	// Servers, when set, is a configured initial configuration, identical
	// on every member, voters and non-voters, used only to bootstrap a
	// member with no Raft state. Empty (the default) means the group
	// organizes itself: Open starts raft without bootstrapping, the
	// neighborhood's founder calls Bootstrap, and the leader adds and
	// removes members (AddNonvoter, AddVoter, DemoteVoter, RemoveServer).
	Servers []Server
	// DataDir holds the Raft log, stable store (raft-boltdb, fsync on)
	// and snapshots. "" keeps them in memory: for tests and the testnet
	// only, since a restarted home then forgets its votes.
	DataDir string

	// HeartbeatTimeout is how long a follower goes without hearing from
	// the leader before it calls an election.
	HeartbeatTimeout time.Duration
	// ElectionTimeout is how long a candidate waits for votes.
	ElectionTimeout time.Duration
	// LeaderLeaseTimeout is how long a leader goes without hearing from a
	// quorum before it steps down. At most HeartbeatTimeout.
	LeaderLeaseTimeout time.Duration
	// CommitTimeout is the longest the leader waits, idle, before telling
	// followers the commit index; it bounds how late a follower's FSM
	// sees a committed plan.
	CommitTimeout time.Duration
	// ApplyTimeout bounds one Commit, from enqueueing to commit.
	ApplyTimeout time.Duration
	// SnapshotThreshold is how many log entries since the last snapshot
	// make raft take the next one.
	SnapshotThreshold uint64
	// TrailingLogs is how many entries a snapshot leaves in the log, so a
	// follower a little behind catches up from the log, not a snapshot.
	TrailingLogs uint64
	// LogLevel is the least level of raft's own messages passed to the
	// logger; above slog.LevelError, none are.
	LogLevel slog.Level

	// Admit reports whether a peer is admitted to the neighborhood (see
	// mesh.Mesh.Admitted); nil admits everyone. Raft streams from peers
	// it refuses are reset, and streams to them are not opened. It is
	// called for every new stream and must not block.
	Admit func(peer.ID) bool
	// BeaconPlan receives the plan a beacon carried (Group.Beacon), after
	// the beacon was taken: the group's Leader now names from as the
	// leader of the beacon's term. The plan is opaque to the group; the
	// receiver decodes and judges it as it judges the plan topic's. nil:
	// plans on beacons are dropped. It is called on the beacon's stream
	// handler and must not block.
	BeaconPlan func(from peer.ID, plan []byte)
}

// DefaultConfig returns the LAN-tuned configuration for a neighborhood;
// the caller fills Neighborhood, LocalID, Servers and DataDir.
//
// Why these timeouts: bare hashicorp/raft failed over in ~300 ms with
// heartbeat = election = 150 ms and a 100 ms lease, against ~1.9 s with
// raft's defaults (docs/BENCHMARKS.md, "The bare libraries"). A plan lease outlives a few seconds of leaderless
// time, so anything under a second would do; we go a little above the
// measured setting (200/200/150 ms) because a testnet packs 100 homes on
// 2 cores, where scheduling stalls of tens of milliseconds would
// otherwise depose healthy leaders.
func DefaultConfig() Config {
	return Config{
		HeartbeatTimeout:   200 * time.Millisecond,
		ElectionTimeout:    200 * time.Millisecond,
		LeaderLeaseTimeout: 150 * time.Millisecond,
		// raft sends every follower an append at a random CommitTimeout
		// to 2·CommitTimeout while idle, through its main loop on both
		// ends, beside the heartbeats (every HeartbeatTimeout/10 to
		// 2·that); at raft's 50 ms default those appends were over a quarter of
		// a neighborhood's Raft RPCs. At 500 ms a follower still applies
		// a plan within 0.5–1 s of its commit, inside the 1 s dispatch
		// period (the next plan's append carries the commit index
		// anyway), and only the leader's FSM serves plans. Heartbeats,
		// not appends, keep the lease and elections. It does bound how
		// soon raft retries an append that failed: the transport
		// retries one on a dead pooled stream at once, on a new one.
		// Measured: docs/BENCHMARKS.md, "What Raft costs a neighborhood".
		CommitTimeout: 500 * time.Millisecond,
		// One dispatch period: a plan not committed by then is stale, the
		// next period's plan replaces it.
		ApplyTimeout: time.Second,
		// The FSM keeps only the newest plan, so a snapshot is one plan:
		// take one often (~17 minutes of plans at one a second) and keep
		// the log on disk small.
		SnapshotThreshold: 1024,
		// ~4 minutes of plans: a home that restarts catches up from the
		// log; one gone longer receives a snapshot, which is one plan.
		TrailingLogs: 256,
		// Raft's Info chatter (every election, every connection) would
		// drown a node's log; its warnings are what an operator needs.
		LogLevel: slog.LevelWarn,
	}
}

// Validate checks every field and the rules between them.
func (c Config) Validate() error {
	if err := c.Neighborhood.Validate(); err != nil {
		return fmt.Errorf("consensus config: %w", err)
	}
	if _, err := peer.Decode(c.LocalID); err != nil {
		return fmt.Errorf("consensus config: local ID %q is not a peer ID: %w", c.LocalID, err)
	}
	if len(c.Servers) > 0 {
		if err := validateServers(c.Servers, c.LocalID); err != nil {
			return err
		}
	}
	switch {
	case c.HeartbeatTimeout < minTimeout:
		return fmt.Errorf("consensus config: heartbeat timeout %v below %v", c.HeartbeatTimeout, minTimeout)
	case c.ElectionTimeout < c.HeartbeatTimeout:
		return fmt.Errorf("consensus config: election timeout %v below heartbeat timeout %v", c.ElectionTimeout, c.HeartbeatTimeout)
	case c.LeaderLeaseTimeout < minTimeout:
		return fmt.Errorf("consensus config: leader lease %v below %v", c.LeaderLeaseTimeout, minTimeout)
	case c.LeaderLeaseTimeout > c.HeartbeatTimeout:
		return fmt.Errorf("consensus config: leader lease %v above heartbeat timeout %v", c.LeaderLeaseTimeout, c.HeartbeatTimeout)
	case c.CommitTimeout < time.Millisecond:
		return fmt.Errorf("consensus config: commit timeout %v below 1ms", c.CommitTimeout)
	case c.ApplyTimeout <= 0:
		return fmt.Errorf("consensus config: apply timeout %v must be positive", c.ApplyTimeout)
	case c.SnapshotThreshold == 0:
		return errors.New("consensus config: snapshot threshold must be positive")
	}
	return nil
}

// validateServers checks a configured initial configuration.
func validateServers(servers []Server, localID string) error {
	if len(servers) == 0 {
		return errors.New("consensus config: no servers")
	}
	seen := make(map[string]bool, len(servers))
	voters := 0
	for _, s := range servers {
		if _, err := peer.Decode(s.ID); err != nil {
			return fmt.Errorf("consensus config: server %q is not a peer ID: %w", s.ID, err)
		}
		if seen[s.ID] {
			return fmt.Errorf("consensus config: server %s listed twice", s.ID)
		}
		seen[s.ID] = true
		if s.Voter {
			voters++
		}
	}
	if voters == 0 {
		return errors.New("consensus config: no voter among the servers")
	}
	if !seen[localID] {
		return fmt.Errorf("consensus config: local ID %q is not among the servers", localID)
	}
	return nil
}
