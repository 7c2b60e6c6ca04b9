package mesh

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/gridmesh/gridmesh"
)

// The per-message costs of the region topic, for capacity arithmetic
// (docs/SCALING.md): the bytes of a signal and of an aggregate (with and
// without its author's certificate) as CBOR, inside gossipsub's signed
// message and inside an RPC frame; and the CPU of the checks every
// receiver makes: gossipsub's signature over the message (StrictSign),
// then the topic's validator (decode, and the operator's signature on a
// signal; the certificate on an aggregate with admission on).

var benchNow = time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)

// benchRegion is what a region message costs to check and carry.
type benchRegion struct {
	op       ed25519.PrivateKey
	nbhdKey  ed25519.PrivateKey
	author   crypto.PrivKey
	authorID peer.ID
	signal   gridmesh.Signal
	agg      gridmesh.Aggregate
	cert     gridmesh.Membership
}

func newBenchRegion(b *testing.B) benchRegion {
	_, op, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	_, nk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	author, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	id, _ := peer.IDFromPrivateKey(author)
	br := benchRegion{op: op, nbhdKey: nk, author: author, authorID: id}
	br.signal = gridmesh.Signal{
		Version: gridmesh.WireVersion, ID: "dr-2026-12-05-evening", Kind: gridmesh.SignalCutImport, Region: "region",
		StartMs: benchNow.UnixMilli(), EndMs: benchNow.Add(time.Hour).UnixMilli(),
		AmountW: 12_500_000, Seq: uint64(benchNow.UnixMicro()),
	}
	if err := br.signal.Sign(op); err != nil {
		b.Fatal(err)
	}
	br.agg = gridmesh.Aggregate{
		Version: gridmesh.WireVersion, Neighborhood: "nb0042", Epoch: gridmesh.Epoch{Term: 7, Index: 123_456},
		AtMs: benchNow.UnixMilli(), ForS: 15, UpW: 61_234.5, DownW: 48_765.25, UpWh: 112_345.75, DownWh: 98_765.5,
	}
	br.cert = gridmesh.Membership{
		Version: gridmesh.WireVersion, Neighborhood: "nb0042", Peer: id.String(), Home: "nb0042-h07",
		IssuedMs: benchNow.Add(-time.Hour).UnixMilli(), ExpiresMs: benchNow.Add(365 * 24 * time.Hour).UnixMilli(),
	}
	if err := br.cert.Sign(nk); err != nil {
		b.Fatal(err)
	}
	return br
}

func (br benchRegion) encode(b *testing.B, m RegionMessage) []byte {
	m.Version = gridmesh.WireVersion
	enc, err := EncodeRegionMessage(m)
	if err != nil {
		b.Fatal(err)
	}
	return enc
}

// benchNetwork names the deployment as a real one might be.
const benchNetwork = "gridmesh-region-01"

// gossip wraps data as gossipsub's signed message on topic (the region's
// when ""), signed as StrictSign signs it.
func (br benchRegion) gossip(b *testing.B, topic string, data []byte) *pb.Message {
	if topic == "" {
		topic = RegionTopic(benchNetwork)
	}
	m := &pb.Message{From: []byte(br.authorID), Data: data, Seqno: make([]byte, 8), Topic: &topic}
	unsigned, err := proto.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	if m.Signature, err = br.author.Sign(append([]byte("libp2p-pubsub:"), unsigned...)); err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkRegionMessageBytes reports the bytes of each region message:
// its CBOR payload, gossipsub's signed message around it, and an RPC
// frame carrying it alone (Noise adds 18 bytes and yamux 12 to a frame).
func BenchmarkRegionMessageBytes(b *testing.B) {
	br := newBenchRegion(b)
	for _, c := range []struct {
		name string
		msg  RegionMessage
	}{
		{"signal", RegionMessage{Signal: &br.signal}},
		{"aggregate", RegionMessage{Aggregate: &br.agg}},
		{"aggregate+certificate", RegionMessage{Aggregate: &br.agg, Membership: &br.cert}},
	} {
		b.Run(c.name, func(b *testing.B) {
			data := br.encode(b, c.msg)
			reportBytes(b, data, br.gossip(b, "", data))
		})
	}
}

// reportBytes reports data's bytes as payload, as the gossip message m
// that carries it, and as an RPC frame carrying m alone; the loop
// measures the frame's sizing.
func reportBytes(b *testing.B, data []byte, m *pb.Message) {
	rpc := &pb.RPC{Publish: []*pb.Message{m}}
	for b.Loop() {
		_ = proto.Size(rpc)
	}
	b.ReportMetric(float64(len(data)), "payload-B")
	b.ReportMetric(float64(proto.Size(m)), "message-B")
	b.ReportMetric(float64(proto.Size(rpc)), "rpc-B")
}

// benchValidator is a Region with only what its validator reads.
func benchValidator(br benchRegion, withAdmission bool) *Region {
	rej := make(rejections, len(regionReasons))
	for _, reason := range regionReasons {
		rej[reason] = new(atomic.Uint64)
	}
	m := &Mesh{log: slog.New(slog.DiscardHandler)}
	nbhd := map[gridmesh.NeighborhoodID]ed25519.PublicKey{}
	if withAdmission {
		m.adm = &admission{}
		nbhd[br.agg.Neighborhood] = br.nbhdKey.Public().(ed25519.PublicKey)
	}
	return &Region{
		m: m, name: "region", nbhd: nbhd, rej: rej, now: func() time.Time { return benchNow },
		cfg: RegionConfig{
			OperatorKeys:         []ed25519.PublicKey{br.op.Public().(ed25519.PublicKey)},
			AggregateMinInterval: time.Nanosecond,
		},
		streams: make(map[streamKey]signalStream),
		lastAgg: make(map[peer.ID]time.Time),
	}
}

// BenchmarkRegionValidate measures the CPU every receiver spends on one
// region message: gossipsub's check of the author's signature, and the
// region topic's validator (for an aggregate, with admission off and on:
// on, the author's certificate is checked too).
func BenchmarkRegionValidate(b *testing.B) {
	br := newBenchRegion(b)
	b.Run("gossipsub-signature", func(b *testing.B) {
		m := br.gossip(b, "", br.encode(b, RegionMessage{Aggregate: &br.agg}))
		sig := m.Signature
		m.Signature = nil
		unsigned, _ := proto.Marshal(m)
		signed := append([]byte("libp2p-pubsub:"), unsigned...)
		pub, err := br.authorID.ExtractPublicKey()
		if err != nil {
			b.Fatal(err)
		}
		cpu := startCPU()
		for b.Loop() {
			if ok, err := pub.Verify(signed, sig); !ok || err != nil {
				b.Fatal("signature refused", err)
			}
		}
		cpu.report(b)
	})
	for _, c := range []struct {
		name      string
		msg       RegionMessage
		admission bool
	}{
		{"signal", RegionMessage{Signal: &br.signal}, false},
		{"aggregate", RegionMessage{Aggregate: &br.agg}, false},
		{"aggregate+certificate", RegionMessage{Aggregate: &br.agg, Membership: &br.cert}, true},
	} {
		b.Run("validator/"+c.name, func(b *testing.B) {
			r := benchValidator(br, c.admission)
			msg := &pubsub.Message{Message: br.gossip(b, "", br.encode(b, c.msg))}
			b.ReportAllocs()
			cpu := startCPU()
			for b.Loop() {
				clear(r.streams) // each pass is the message's first arrival
				clear(r.lastAgg)
				if v := r.validate(context.Background(), br.authorID, msg); v != pubsub.ValidationAccept {
					b.Fatal(fmt.Sprint("refused: ", r.Rejections()))
				}
			}
			cpu.report(b)
		})
	}
}

// cpuClock measures the process's CPU time (user and system) over a
// benchmark's loop: unlike ns/op, it does not grow when other processes
// share the cores.
type cpuClock time.Duration

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuClock { return cpuClock(processCPU()) }

// report adds cpu-ns/op, the CPU time per iteration.
func (c cpuClock) report(b *testing.B) {
	b.ReportMetric(float64(processCPU()-time.Duration(c))/float64(b.N), "cpu-ns/op")
}
