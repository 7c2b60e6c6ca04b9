package consensus

import (
	"bytes"
	"context"
	"errors"
	"io"
	"reflect"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/raft"

	"github.com/gridmesh/gridmesh/consensus/consensustest"
)

// rpcPair returns a transport for each of two peers of an in-memory
// network, and the second's raft address.
func rpcPair(t *testing.T) ([2]*rpcTransport, raft.ServerAddress) {
	t.Helper()
	ls, ids := memLayers(t, func(int) layerConfig { return layerConfig{queueLen: acceptQueueLen} })
	var ts [2]*rpcTransport
	for i, l := range ls {
		ts[i] = newRPCTransport(l, maxPool, rpcTimeout, consensustest.Logger(t))
		t.Cleanup(func() { _ = ts[i].Close() })
	}
	return ts, raft.ServerAddress(ids[1].String())
}

// answer answers the next RPC on tr's consumer with resp (or err) and
// returns its command and the snapshot data it carried, if any.
func answer(t *testing.T, tr *rpcTransport, resp any, err error) (any, []byte) {
	t.Helper()
	rpc := <-tr.Consumer()
	var data []byte
	if rpc.Reader != nil {
		var rerr error
		if data, rerr = io.ReadAll(rpc.Reader); rerr != nil {
			t.Errorf("read snapshot data: %v", rerr)
		}
	}
	rpc.Respond(resp, err)
	return rpc.Command, data
}

func TestRPCTransportCarriesEveryRPC(t *testing.T) { synctest.Test(t, testCarriesEveryRPC) }

func testCarriesEveryRPC(t *testing.T) {
	ts, to := rpcPair(t)
	s := wireSamples()

	// An append goes to raft's consumer; its answer comes back.
	go answer(t, ts[1], s[2], nil)
	var ae raft.AppendEntriesResponse
	if err := ts[0].AppendEntries("", to, s[1].(*raft.AppendEntriesRequest), &ae); err != nil || !reflect.DeepEqual(&ae, s[2]) {
		t.Fatalf("AppendEntries = %+v, %v", ae, err)
	}
	// Raft's error comes back as the RPC's error.
	go answer(t, ts[1], nil, errors.New("no leader here"))
	var vr raft.RequestVoteResponse
	if err := ts[0].RequestVote("", to, s[3].(*raft.RequestVoteRequest), &vr); err == nil || err.Error() != "no leader here" {
		t.Fatalf("RequestVote error = %v, want raft's", err)
	}
	go answer(t, ts[1], s[6], nil)
	var pr raft.RequestPreVoteResponse
	if err := ts[0].RequestPreVote("", to, s[5].(*raft.RequestPreVoteRequest), &pr); err != nil || !pr.Granted {
		t.Fatalf("RequestPreVote = %+v, %v", pr, err)
	}
	go answer(t, ts[1], s[10], nil)
	var tr raft.TimeoutNowResponse
	if err := ts[0].TimeoutNow("", to, s[9].(*raft.TimeoutNowRequest), &tr); err != nil {
		t.Fatalf("TimeoutNow: %v", err)
	}
	// Every RPC above went on one pooled stream.
	if n := len(ts[0].pool[to]); n != 1 {
		t.Fatalf("%d streams pooled, want 1", n)
	}
}

// An RPC whose pooled stream died with its connection goes out at once
// on a new stream, rather than failing until raft retries.
func TestRPCTransportRetriesDeadPooledStream(t *testing.T) {
	synctest.Test(t, testRetriesDeadPooledStream)
}

func testRetriesDeadPooledStream(t *testing.T) {
	ts, to := rpcPair(t)
	s := wireSamples()
	ts[1].SetHeartbeatHandler(func(rpc raft.RPC) { rpc.Respond(s[2], nil) })
	var ae raft.AppendEntriesResponse
	if err := ts[0].AppendEntries("", to, s[0].(*raft.AppendEntriesRequest), &ae); err != nil {
		t.Fatal(err)
	}
	if n := len(ts[0].pool[to]); n != 1 {
		t.Fatalf("%d streams pooled, want 1", n)
	}
	_ = ts[0].pool[to][0].conn.Close() // its connection gone
	ae = raft.AppendEntriesResponse{}
	if err := ts[0].AppendEntries("", to, s[0].(*raft.AppendEntriesRequest), &ae); err != nil || !ae.Success {
		t.Fatalf("heartbeat after the pooled stream died = %+v, %v", ae, err)
	}
	if n := len(ts[0].pool[to]); n != 1 {
		t.Fatalf("%d streams pooled after the retry, want the new one", n)
	}
}

// A heartbeat takes raft's fast path, never the consumer.
func TestRPCTransportHeartbeatFastPath(t *testing.T) { synctest.Test(t, testHeartbeatFastPath) }

func testHeartbeatFastPath(t *testing.T) {
	ts, to := rpcPair(t)
	s := wireSamples()
	ts[1].SetHeartbeatHandler(func(rpc raft.RPC) { rpc.Respond(s[2], nil) })
	var ae raft.AppendEntriesResponse
	if err := ts[0].AppendEntries("", to, s[0].(*raft.AppendEntriesRequest), &ae); err != nil || !ae.Success {
		t.Fatalf("heartbeat = %+v, %v", ae, err)
	}
}

func TestRPCTransportInstallsSnapshots(t *testing.T) { synctest.Test(t, testInstallsSnapshots) }

func testInstallsSnapshots(t *testing.T) {
	ts, to := rpcPair(t)
	data := bytes.Repeat([]byte("plan "), 100_000)
	req := &raft.InstallSnapshotRequest{Term: 3, Size: int64(len(data)), Leader: []byte("l")}
	got := make(chan []byte, 1)
	go func() {
		_, d := answer(t, ts[1], &raft.InstallSnapshotResponse{Term: 3, Success: true}, nil)
		got <- d
	}()
	var resp raft.InstallSnapshotResponse
	if err := ts[0].InstallSnapshot("", to, req, &resp, bytes.NewReader(data)); err != nil || !resp.Success {
		t.Fatalf("InstallSnapshot = %+v, %v", resp, err)
	}
	if d := <-got; !bytes.Equal(d, data) {
		t.Fatalf("follower read %d bytes of snapshot, want %d", len(d), len(data))
	}
}

// A stream whose request does not decode is closed and counted; raft
// sees nothing of it.
func TestRPCTransportClosesMalformedStreams(t *testing.T) {
	synctest.Test(t, testClosesMalformedStreams)
}

func testClosesMalformedStreams(t *testing.T) {
	ts, to := rpcPair(t)
	for _, frame := range [][]byte{
		{rpcAppendEntries, 0, 0, 0, 2, 0xff, 0xff}, // body cut inside a varint
		{answerOK, 0, 0, 0, 0},                     // an answer where a request goes
		{rpcTimeoutNow, 0xff, 0xff, 0xff, 0xff},    // above the frame bound
	} {
		c, err := ts[0].layer.Dial(to, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(frame); err != nil {
			t.Fatal(err)
		}
		if n, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatalf("read %d bytes of answer to a malformed request", n)
		}
		_ = c.Close()
	}
	synctest.Wait()
	if n := ts[1].malformed.Load(); n != 3 {
		t.Fatalf("malformed = %d, want 3", n)
	}
	select {
	case rpc := <-ts[1].Consumer():
		t.Fatalf("raft was handed %T", rpc.Command)
	default:
	}
}

// Close ends the service of every stream, and RPCs to a closed peer
// fail rather than hang.
func TestRPCTransportClose(t *testing.T) { synctest.Test(t, testClose) }

func testClose(t *testing.T) {
	ts, to := rpcPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // a raft that never answers
		select {
		case <-ts[1].Consumer():
		case <-ctx.Done():
		}
	}()
	done := make(chan error, 1)
	go func() {
		var resp raft.RequestVoteResponse
		done <- ts[0].RequestVote("", to, wireSamples()[3].(*raft.RequestVoteRequest), &resp)
	}()
	synctest.Wait()
	if err := ts[1].Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatal("RPC to a closed transport succeeded")
	}
	if err := ts[1].Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
