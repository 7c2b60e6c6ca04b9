package consensus

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

// raftMessages are the RPCs a neighborhood's leader exchanges with each
// member: a heartbeat and its answer (every HeartbeatTimeout/10 to
// 2·that, per follower), and an append carrying one 25-home plan (~500
// bytes of CBOR, mesh's BenchmarkNeighborhoodMessageBytes) and its
// answer, once a plan period, and the empty append that tells a
// follower the commit index (every CommitTimeout to 2·that while idle).
// Members are named by their peer IDs, as
// here.
func raftMessages(b *testing.B) []struct {
	name string
	rpc  any
} {
	leader, follower := benchPeer(b), benchPeer(b)
	header := raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte(leader), Addr: []byte(leader)}
	answer := raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte(follower), Addr: []byte(follower)}
	heartbeat := &raft.AppendEntriesRequest{RPCHeader: header, Term: 7, Leader: []byte(leader)}
	plan := &raft.AppendEntriesRequest{
		RPCHeader: header, Term: 7, Leader: []byte(leader), PrevLogEntry: 123_455, PrevLogTerm: 7, LeaderCommitIndex: 123_455,
		Entries: []*raft.Log{{Index: 123_456, Term: 7, Type: raft.LogCommand, Data: make([]byte, 500), AppendedAt: time.Now()}},
	}
	commitIndex := &raft.AppendEntriesRequest{
		RPCHeader: header, Term: 7, Leader: []byte(leader), PrevLogEntry: 123_456, PrevLogTerm: 7, LeaderCommitIndex: 123_456,
	}
	ok := &raft.AppendEntriesResponse{RPCHeader: answer, Term: 7, LastLog: 123_456, Success: true}
	return []struct {
		name string
		rpc  any
	}{{"heartbeat", heartbeat}, {"heartbeat-answer", ok}, {"append-plan25", plan}, {"append-answer", ok},
		{"append-commit-index", commitIndex}}
}

// BenchmarkRaftMessageBytes reports the bytes of each Raft RPC as the
// transport frames it on a stream (rpcwire.go), and the CPU and
// allocations of encoding and decoding it; msgpack is the same with
// raft's NetworkTransport's codec (a type byte, then msgpack), which
// the transport replaced.
func BenchmarkRaftMessageBytes(b *testing.B) {
	for _, c := range raftMessages(b) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			into := fresh(c.rpc)
			intern := new([2][]byte)
			for b.Loop() {
				var err error
				buf, err = appendFrame(buf, rpcAppendEntries, c.rpc)
				if err != nil {
					b.Fatal(err)
				}
				if err := decodeRPC(&reader{b: buf[frameHeaderLen:], intern: intern}, into); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(buf)), "wire-B")
		})
		b.Run(c.name+"/msgpack", func(b *testing.B) {
			b.ReportAllocs()
			var buf bytes.Buffer
			into := fresh(c.rpc)
			for b.Loop() {
				buf.Reset()
				buf.WriteByte(0) // the RPC type
				if err := codec.NewEncoder(&buf, &codec.MsgpackHandle{}).Encode(c.rpc); err != nil {
					b.Fatal(err)
				}
				if err := codec.NewDecoderBytes(buf.Bytes()[1:], &codec.MsgpackHandle{}).Decode(into); err != nil {
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
