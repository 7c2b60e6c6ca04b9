// Package mesh is a home's window on the gossip network: the libp2p host,
// gossipsub, the per-neighborhood topics, the CBOR wire encoding of
// gridmesh messages and their validation. It knows nothing of Raft,
// control or devices; package node wires it to them.
//
// # What it owns
//
//   - The host (Open): TCP, Noise, yamux; no local discovery. Its
//     resource manager caps connections at Config.MaxConns, lets loopback
//     (where a whole testnet shares 127.0.0.1) use all of them and bounds
//     every other address at Config.ConnsPerIP (a relayed connection is
//     not counted against its relay's address); its connection manager
//     trims between Config.LowWaterConns and Config.HighWaterConns.
//   - NAT traversal (nat.go), as Config.NAT says; off by default, on in a
//     home file: QUIC beside TCP, AutoNAT v1 and v2 (client and server),
//     a circuit relay v2 service once AutoNAT finds the home public,
//     auto-relay on the bootstrap peers once it finds it private, DCUtR
//     hole punching. ConnStats counts connections direct and limited
//     (relayed). A relayed connection carries no gossip (gossipsub opens
//     its streams on direct connections only); the Raft transport opens
//     its streams on one (network.WithAllowLimitedConn) until a hole punch
//     replaces it.
//   - Bootstrap (Run): dials Config.Bootstrap and redials a peer that
//     drops, with capped, jittered exponential backoff.
//   - Gossip: one gossipsub router per host, with signed messages
//     (StrictSign: unsigned or forged messages never reach a validator)
//     and frames bounded by MaxMessageBytes plus envelope.
//   - Topics: /gridmesh/<network>/nbhd/<id>/telemetry and .../plan
//     (JoinNeighborhood), each with a validator that decodes once, refuses
//     bad input and hands the decoded value on; /gridmesh/<network>/region
//     (JoinRegion, region.go), which every home joins: operator Signals,
//     accepted only when signed by a key in Config.Region.OperatorKeys, in
//     their window and with a Seq above any seen for their ID (replays and
//     reorderings refused, memory bounded); and leaders' Aggregates, fresh,
//     one per author per AggregateMinInterval at most and, with admission
//     on, carrying the author's certificate of the neighborhood they
//     claim, checked against Config.Region.NeighborhoodKeys. Region
//     refusals are counted apart (Region.Rejections).
//   - The wire codec (EncodeTelemetry, DecodePlan, ...): CBOR, Core
//     Deterministic Encoding, strict decoding with small limits; decoders
//     also run the message's Validate.
//
// # Validation
//
// Every message is decoded and validated before it is delivered or
// forwarded. Undecodable, invalid and other neighborhoods' messages are
// rejected. A plan is delivered only if it is signed by the peer the
// home's LeaderView names as leader of the plan's term: an older term is
// rejected (stale-term), a plan signed by anyone else in the current term
// is rejected (not-leader), and a newer term or an unknown leader is
// ignored (unknown-term, no-leader): this home cannot judge the plan yet
// and the leader re-sends every period. Each refusal is counted by reason
// (Rejections). Messages this home publishes pass the same validators, and
// it receives its own messages like any other: the leader applies its own
// plan through NextPlan.
//
// # Admission
//
// With Config.Admission set, a neighborhood's topics and Raft group are
// for its members only. Each neighborhood has an ed25519 membership key;
// a member holds a gridmesh.Membership certificate signed with it and
// bound to its peer ID. When two hosts connect, Run has each present its
// certificate on /gridmesh/admit/1.0.0/<neighborhood> (AdmitProtocol). A
// peer whose certificate verifies for this neighborhood and names the
// connection's peer is admitted (Admitted) until the certificate expires.
// A member of another neighborhood whose key Config.Region.NeighborhoodKeys
// holds, and an operator's host presenting a pass signed by an operator
// key (Config.OperatorPass, OperatorAdmitProtocol), are let on the region
// topic only (Cleared). A peer that presents a bad certificate is refused
// at once; one that presents nothing within AdmissionConfig.Timeout (600
// ms by default) is refused then, unless its identify record shows the
// admission protocol of another neighborhood: homes of other
// neighborhoods stay connected, unadmitted. A refused peer is
// disconnected, counted under ReasonAdmissionRefused with a detail
// (Rejections), and the connection gater keeps it out for
// AdmissionConfig.BlockFor (30 s for one that presented nothing).
//
// Nothing flows before admission (gate.go): gossipsub runs on a host whose
// streams, both ways, wait for the peer to be cleared, so a stranger never
// gets a gossip stream, not one message; a neighborhood's topics take
// subscriptions and grafts from admitted members only. The topics'
// validators still reject (ReasonNonMember) a message unless its author
// or the peer that forwarded it is admitted (a region peer publishing on
// a neighborhood's topic), and package node hands Admitted to the Raft
// transport, which refuses streams to and from non-admitted peers.
// Admission is all or nothing within a neighborhood: a member with
// admission off presents nothing and is refused.
//
// # What callers must do
//
//   - Call Open, then run Run under the node's errgroup; cancel Run's
//     context before calling Close. Close leaves every neighborhood.
//     With admission on, no peer is admitted or refused until Run runs.
//   - Give JoinNeighborhood a LeaderView backed by the neighborhood's Raft
//     group; its Leader method is called for every plan and must not
//     block.
//   - Fence plans: NextPlan delivers any plan of the current leader; the
//     caller applies it only if its epoch is newer than the last applied
//     and its lease has not run out.
//   - Keep every home connected to at least one voter of its
//     neighborhood. A home that joins without subscribing to telemetry
//     publishes straight to the telemetry subscribers it is connected to
//     (gossipsub's fanout); it does not relay, so telemetry does not cross
//     a home that is not a voter.
//   - Drain NextTelemetry and NextPlan promptly: each subscription buffers
//     Config.InboxSize messages, then gossipsub drops new ones.
//   - Record the addresses homes announce in telemetry with AddPeerAddrs,
//     so Raft and gossip can dial them.
//
// # Peer scoring
//
// Gossipsub peer scoring is off for now. When it is turned on, the IP
// colocation penalty (IPColocationFactorWeight) must be disabled or the
// loopback range whitelisted (IPColocationFactorWhitelist): every testnet
// peer shares 127.0.0.1 and would be scored as a Sybil swarm.
package mesh
