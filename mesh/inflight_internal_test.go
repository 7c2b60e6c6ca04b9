package mesh

import (
	"testing"
	"time"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"
)

// A byte-identical copy of a message is dropped within the window; a
// copy differing in any field is not (a forgery cannot shadow the
// genuine message), and the same bytes pass again once the window is
// long gone.
func TestInflightDropsOnlyIdenticalCopiesWithinTheWindow(t *testing.T) {
	topic := "/gridmesh/test/nbhd/n0/telemetry"
	msg := &pb.Message{From: []byte("author"), Seqno: []byte{0, 0, 0, 1}, Topic: &topic, Data: []byte("report"), Signature: []byte("sig")}
	f := newInflight()
	now := time.Unix(1_780_000_000, 0)
	if !f.firstCopy(msg, now) {
		t.Fatal("the first copy was dropped")
	}
	if f.firstCopy(msg, now.Add(inflightWindow/2)) {
		t.Error("an identical copy within the window passed")
	}
	if f.firstCopy(&pb.Message{From: msg.From, Seqno: msg.Seqno, Topic: &topic, Data: msg.Data, Signature: msg.Signature}, now.Add(inflightWindow)) {
		t.Error("an identical copy (another value, same bytes) passed")
	}
	altered := []*pb.Message{
		{From: msg.From, Seqno: msg.Seqno, Topic: &topic, Data: []byte("forged"), Signature: msg.Signature},
		{From: msg.From, Seqno: msg.Seqno, Topic: &topic, Data: msg.Data, Signature: []byte("other")},
		{From: msg.From, Seqno: []byte{0, 0, 0, 2}, Topic: &topic, Data: msg.Data, Signature: msg.Signature},
		// Bytes moved from one field to the next: the fields are length-prefixed.
		{From: msg.From, Seqno: msg.Seqno, Topic: &topic, Data: []byte("reportsig"), Signature: nil},
	}
	for i, a := range altered {
		if !f.firstCopy(a, now.Add(inflightWindow)) {
			t.Errorf("altered copy %d was dropped", i)
		}
	}
	if !f.firstCopy(msg, now.Add(3*inflightWindow)) {
		t.Error("the message was still dropped two windows later")
	}
}
