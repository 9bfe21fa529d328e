// Package wildcard shares one set of informers per kcp wildcard endpoint (<url>/clusters/*) among
// every logical cluster a provider engages, and gives each cluster its own view of them: a
// controller-runtime cache.Cache and cluster.Cluster scoped to that logical cluster.
//
// The difference to registering one filtering handler per cluster on the shared informer is the
// router: each shared informer has exactly one event handler, which looks up the handlers of the
// event's logical cluster in a map and calls only those. The cost of an event is therefore
// O(handlers of its cluster), not O(all clusters x controllers), and engaging a cluster adds no
// informer listener, goroutine or notification buffer. The HTTP client and REST mapper of an
// endpoint are shared by all its clusters as well.
package wildcard
