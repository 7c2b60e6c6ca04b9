package node_test

import (
	"testing"
	"time"
)

// BenchmarkStatusAndBrief compares what a watcher pays to read one
// home's plan and leadership: the whole Status, or Brief. A testnet
// reads them for every home ten times a second. Three voters on TCP,
// read once the home follows a plan.
func BenchmarkStatusAndBrief(b *testing.B) {
	c := newCluster(b, 3, 3, benchConfig(), false)
	c.useTCP()
	for i := range 3 {
		c.start(i)
	}
	h := c.homes[0].n
	eventually(b, "a plan on the home", 60*time.Second, func() bool { return h.Brief().HasPlan })
	b.Run("status", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !h.Status().EverPlanned {
				b.Fatal("the home forgot its plan")
			}
		}
	})
	b.Run("brief", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !h.Brief().EverPlanned {
				b.Fatal("the home forgot its plan")
			}
		}
	})
}
