package consensus_test

import (
	"bytes"
	"crypto/rand"
	"testing"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/raft"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// BenchmarkRaftMessageBytes reports the bytes of the Raft RPCs a
// neighborhood's leader exchanges with each member, as raft's
// NetworkTransport writes them on a stream (a type byte, then msgpack):
// a heartbeat and its answer (every HeartbeatTimeout/10 to 2·that, per
// follower), and an append carrying one 25-home plan (~500 bytes of
// CBOR, mesh's BenchmarkNeighborhoodMessageBytes) and its answer, once a
// plan period. Members are named by their peer IDs, as here.
func BenchmarkRaftMessageBytes(b *testing.B) {
	leader, follower := benchPeer(b), benchPeer(b)
	header := raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte(leader), Addr: []byte(leader)}
	answer := raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte(follower), Addr: []byte(follower)}
	heartbeat := &raft.AppendEntriesRequest{RPCHeader: header, Term: 7, Leader: []byte(leader)}
	plan := &raft.AppendEntriesRequest{
		RPCHeader: header, Term: 7, Leader: []byte(leader), PrevLogEntry: 123_455, PrevLogTerm: 7, LeaderCommitIndex: 123_455,
		Entries: []*raft.Log{{Index: 123_456, Term: 7, Type: raft.LogCommand, Data: make([]byte, 500), AppendedAt: time.Now()}},
	}
	ok := &raft.AppendEntriesResponse{RPCHeader: answer, Term: 7, LastLog: 123_456, Success: true}
	for _, c := range []struct {
		name string
		rpc  any
	}{
		{"heartbeat", heartbeat}, {"heartbeat-answer", ok}, {"append-plan25", plan}, {"append-answer", ok},
	} {
		b.Run(c.name, func(b *testing.B) {
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				buf.WriteByte(0) // the RPC type
				if err := codec.NewEncoder(&buf, &codec.MsgpackHandle{}).Encode(c.rpc); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len()), "wire-B")
		})
	}
}

func benchPeer(b *testing.B) string {
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		b.Fatal(err)
	}
	return id.String()
}
