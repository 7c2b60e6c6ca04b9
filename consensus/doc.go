// Package consensus runs one Raft group per neighborhood (hashicorp/raft)
// over libp2p streams on the home's existing libp2p host, and stores what
// the neighborhood's leader decides: its plan epochs.
//
// # What it owns
//
//   - The transport: Raft RPCs travel on streams of protocol
//     /gridmesh/raft/2.0.0/<neighborhood> (see ProtocolID) carried by the
//     Transport Open is given: libp2p streams on the host the caller
//     already runs (NewHostTransport; no second port), or memory in tests
//     (consensustest.Network, in testing/synctest bubbles). Raft's
//     ServerID and ServerAddress are both the member's peer ID string.
//     raft's Transport over those streams is this package's own
//     (rpctransport.go, wire format in rpcwire.go): idle streams pooled
//     per peer, so a heartbeat reuses a stream rather than opening one,
//     with no per-stream 256 KiB buffers and no msgpack, which made
//     raft's NetworkTransport most of a city's heap.
//   - The FSM: the newest committed plan body (opaque bytes the caller
//     encodes), its gridmesh.Epoch (the Raft term and index of its log
//     entry), how many plans were committed, and the cluster's name (the
//     first leader's NameCluster); snapshots in CBOR.
//   - Membership mechanics, not policy: Bootstrap (only where no Raft
//     state exists; raft grants votes to a candidate while it knows no
//     configuration, so one founder is enough), AddNonvoter, AddVoter,
//     DemoteVoter, RemoveServer on the leader, Reset to wipe a member
//     that must join another group, Pause to make a member go silent as
//     a stopped process would (fault tests).
//   - Self-organization policy as pure functions (formation.go,
//     upkeep.go, listen.go; FormationConfig says how): who founds the
//     group and with which voters, which cluster a member without state
//     asks to join, when a member wipes its state to merge into another
//     cluster, which members the leader adds, promotes, demotes and
//     removes each round, and whether a member needs its neighborhood's
//     reports. They take a FormationState (or ListenState) and return
//     the next one with their decision: no I/O, no clock of their own.
//   - Leader beacons (beacon.go): the leader tells the homes outside the
//     configuration (BeaconTargets) who leads in which term, on streams
//     of BeaconProtocolID; Leader on such a home names the beaconed
//     leader, so that it fences plans as a member does, without the
//     leader heartbeating it. The configuration holds the voters and
//     FormationConfig.Standbys non-voters ready for promotion.
//   - Storage: a raft-boltdb log and stable store (fsync on) and a file
//     snapshot store under Config.DataDir, or memory when DataDir is "".
//
// It decides nothing about dispatch: it stores what control decides. It
// never imports mesh, control, devices or node.
//
// # What the caller must do
//
//   - On a host (NewHostTransport), fill its peerstore with the addresses of every member
//     before (and while) the group runs: Dial looks only there.
//   - Either leave Config.Servers empty and found the group with
//     Bootstrap on exactly one member (the others are added by its
//     leader), or give every member the same Config.Servers, voters and
//     non-voters alike: a member bootstraps from that list only when its
//     store holds no Raft state; afterwards the configuration in the log
//     wins.
//   - Commit only on the leader (IsLeader, or after a notice on
//     LeaderChanges); a follower gets *NotLeaderError naming the leader.
//     Publish a plan only after Commit returned its Epoch.
//   - On the leader, call Beacon with BeaconTargets before each plan is
//     published: a home outside the configuration refuses plans of a
//     term no beacon named (BeaconMaxAge).
//   - Call Close exactly once it is done (further calls are no-ops). Open
//     starts raft's goroutines; Close stops them and waits for them. Close
//     is a hard stop: call TransferLeadership first for a graceful one,
//     or the others elect a new leader after an election timeout.
//   - Not open two groups of one neighborhood on one host: the second
//     would take over the first's stream handler.
//   - Where the neighborhood admits its members, set Config.Admit (the
//     mesh's Admitted): streams from peers it refuses are reset, and
//     none are opened to them (RefusedStreams counts both). The
//     transport connects to a member before dialing it and waits for its
//     admission, so Admit must turn true soon after a connection.
package consensus
