package mesh

import (
	"hash/maphash"
	"sync"
	"time"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"
)

// inflight drops, before their signatures are checked, copies of a gossip
// message that this home has just received from another peer.
//
// gossipsub marks a message seen only once its signature has verified,
// and verifies every copy that arrives before that (the validation queue
// is not deduplicated). In a neighborhood every home's report reaches
// each home from its author (flood publishing) and from up to D mesh
// peers that forward it; while validation keeps up the later copies find
// the message seen and cost a lookup, but once a loaded host's
// validation queue holds more than a network round trip of work every
// copy is verified, each an ed25519 check (about 55 µs): the load makes
// more load. inflight remembers a digest of each message's bytes
// (author, sequence number, topic, data, signature and key) for
// inflightWindow and drops a byte-identical copy within it, counted as a
// duplicate (Traffic). A copy that differs in any byte (a forgery
// reusing an author and sequence number, say) is not identical, so it
// cannot keep the genuine message out: each is judged on its own.
//
// A copy dropped here is one gossipsub would have dropped as seen, with
// one exception: if the first copy was lost before validation (the
// validation queue was full), copies within the window are lost too.
// That happens only on a host already shedding messages; a plan is
// re-sent every plan period and telemetry every telemetry period.
//
// Called on gossipsub's event loop (the RPC inspector); mu guards the
// maps all the same, since the cost is small and the loop is not ours.
type inflight struct {
	seed maphash.Seed // random per host: no one can aim at a collision

	mu   sync.Mutex
	cur  map[uint64]struct{} // digests since the last rotation
	prev map[uint64]struct{} // digests of the window before
	rot  time.Time           // when cur was started
}

// inflightWindow is how long a digest is remembered: one to two windows
// (the maps rotate). Why 2 s: on a loaded host a message waits in the
// validation queue up to a second or so, and later copies fall to
// gossipsub's own seen cache (2 minutes) once the first is validated.
const inflightWindow = 2 * time.Second

func newInflight() *inflight {
	return &inflight{seed: maphash.MakeSeed(), cur: map[uint64]struct{}{}, prev: map[uint64]struct{}{}}
}

// firstCopy reports whether msg, received at now, is the first copy of
// its bytes within the window, and remembers it.
func (f *inflight) firstCopy(msg *pb.Message, now time.Time) bool {
	var h maphash.Hash
	h.SetSeed(f.seed)
	for _, b := range [][]byte{msg.From, msg.Seqno, []byte(msg.GetTopic()), msg.Data, msg.Signature, msg.Key} {
		var n [8]byte
		l := len(b)
		for i := range n { // length-prefixed: fields cannot run into each other
			n[i] = byte(l >> (8 * i))
		}
		_, _ = h.Write(n[:])
		_, _ = h.Write(b)
	}
	d := h.Sum64()
	f.mu.Lock()
	defer f.mu.Unlock()
	if now.Sub(f.rot) >= inflightWindow {
		f.prev, f.cur, f.rot = f.cur, make(map[uint64]struct{}, len(f.cur)), now
	}
	if _, ok := f.cur[d]; ok {
		return false
	}
	if _, ok := f.prev[d]; ok {
		return false
	}
	f.cur[d] = struct{}{}
	return true
}
