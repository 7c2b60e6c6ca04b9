// Package lab runs a city of gridmesh homes as separate `gridmesh node`
// processes, each in its own Linux network namespace, joined through a
// router namespace over links that delay, drop and rate-limit packets
// like home broadband, and injects faults the way an operating system
// would: SIGKILL, SIGSTOP/SIGCONT, packets dropped by nftables.
//
// The lab observes homes only from outside: their /status and their
// plan logs (/plans) over HTTP, their processes in /proc, their log
// files and their exit statuses. It imports no package that holds a
// node's memory (only the root package gridmesh, node/homefile,
// node/dashboard, internal/... and external modules: porcupine checks
// the plan histories). With Config.Dashboard it serves the city's live
// page, the testnet's, from those polls, and each home's own page
// proxied into its namespace (dashboard.go).
//
// Topology: one namespace per home (gml-<run>-h<i>) and one router
// namespace (gml-<run>-r). Every home has one point-to-point link to the
// router: a TUN device in the home's namespace and one in the router's,
// whose packets the lab process carries across (link.go), shaping them
// with a profile (profile.go: lan, broadband, lossy). Neighborhood n is
// the subnet 11.77.n.0/24, addresses libp2p takes for public (topology.go
// says why); the router routes every home's /32 and holds 11.77.0.1,
// from which the lab polls each home's status endpoint. A home behind
// NAT (Config.NATHomes, nat.go) sits on 192.168.1.2 behind a NAT
// namespace (gml-<run>-n<i>) that holds its link, masquerades and lets
// nothing in unsolicited; the lab polls it from there. Partitions are
// nftables rules in the router's forward chain.
//
// Callers must run as root (CAP_NET_ADMIN and CAP_SYS_ADMIN to create
// and enter namespaces) with `ip` (iproute2) and `nft` (nftables) on
// PATH and /dev/net/tun present: Run checks and names whatever is
// missing; it never falls back to loopback. Everything the lab creates
// carries its run ID and is removed when Run returns, on every path.
package lab
