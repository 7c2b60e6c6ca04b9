package consensus_test

import (
	"context"
	"testing"
)

// BenchmarkCommit measures one plan committed by the leader of three
// voters over libp2p streams on 127.0.0.1: in memory (the testnet's
// stores) and durable (raft-boltdb with fsync, a real home's).
func BenchmarkCommit(b *testing.B) {
	for _, durable := range []bool{false, true} {
		name := "inmem"
		if durable {
			name = "boltdb"
		}
		b.Run(name, func(b *testing.B) {
			ms := newHostCluster(b, 3, 0, durable)
			leader := waitLeader(b, ms)
			body := make([]byte, 1024) // a plan for ~40 homes
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				if _, err := leader.g.Commit(ctx, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
