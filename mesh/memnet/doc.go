// Package memnet is an in-memory network for libp2p hosts: a transport
// that serves the same TCP multiaddrs as the kernel's (/ip4/…/tcp/N) with
// no socket, installed with mesh.WithTransport(n.Transport()). Every
// host on one Network reaches every other; nothing outside the process
// does.
//
// It carries the product's whole stack above the socket (Noise, yamux,
// the resource manager, the connection gater), so what runs on it is a
// home as deployed, minus the kernel: tests run homes on it inside
// testing/synctest bubbles, and the testnet (`--transport mem`) runs a
// city larger than the machine's file descriptors and ports allow.
//
// Connections are memconn pairs: writes are queued without bound (yamux
// and Raft bound what is in flight), and a dial waits for the listener's
// Accept as a full backlog would make it.
package memnet
