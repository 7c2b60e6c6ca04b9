package mesh

import (
	"github.com/libp2p/go-libp2p"
	"github.com/prometheus/client_golang/prometheus"
)

// WithRegisterer registers go-libp2p's own metrics (swarm, identify,
// event bus, resource manager, …: the libp2p_* families) with reg, the
// home's registry. Without it the host keeps them off: no host ever
// touches Prometheus's global registry, so many hosts share a process.
//
// go-libp2p keeps those metrics in package-level collectors and ignores
// a second registration of one (metricshelper.RegisterCollectors), so a
// host opened again on the same registry, and hosts of one process on
// registries of their own, neither collide nor panic. The collectors are
// the process's, though: where several hosts share a process (a
// testnet), every registry given them shows the libp2p_* counts of all
// of them. A home in a process of its own, the real case, shows its
// own.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(o *openOptions) { o.registerer = reg }
}

// metricsOption is the host option for go-libp2p's metrics: into reg,
// or off when reg is nil.
func metricsOption(reg prometheus.Registerer) libp2p.Option {
	if reg == nil {
		return libp2p.DisableMetrics()
	}
	return libp2p.PrometheusRegisterer(reg)
}
