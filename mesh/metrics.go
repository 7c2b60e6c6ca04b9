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
//
// Off is not quite off in go-libp2p v0.51: the event bus gets a metrics
// tracer whatever DisableMetrics says, registered with the host's
// registerer or, when it has none, with Prometheus's global registry. A
// registry nobody gathers takes them instead. It is set before
// DisableMetrics, which refuses a registerer set after it
// (TestHostsOnRegistriesOfTheirOwn sees the global registry untouched).
func metricsOption(reg prometheus.Registerer) libp2p.Option {
	if reg == nil {
		return libp2p.ChainOptions(libp2p.PrometheusRegisterer(prometheus.NewRegistry()), libp2p.DisableMetrics())
	}
	return libp2p.PrometheusRegisterer(reg)
}
