// Package syncengine is bindery's sync engine: it keeps a copy of an object whose source of truth
// is cluster A in cluster B, and brings the copy's status and related objects back. The syncagent
// (A = a consumer's kcp workspace, B = the provider cluster) and the konnector (A = the consumer
// cluster, B = a namespace in the provider cluster or a workspace) share it, so both follow one
// contract.
//
// The rules are pure functions: the copy lands where the Namer says (one namespace per source
// cluster by default, a name that never collides for two source objects), or in the one
// namespace a confined sync is given (Reconciler.DestinationNamespace); it carries the source's
// top-level fields, after the spec mutation, but none of its status, server-set metadata or
// system labels and annotations (DesiredCopy); it bears ownership marks (an agent label, a source
// hash label and the source's cluster, kind, namespace and name in annotations) from which any
// restart recognises it without local memory (Mark, OwnerOf); and the engine only ever writes a
// copy whose marks name its own agent and the same source object (Decide). Status flows the other
// way (StatusUp). Related objects travel the same way from the side that owns them (Related).
//
// The Reconciler applies the rules to one source object through small interfaces (SourceClusters,
// a destination client): there is at most one copy per source object, found by its marks wherever
// it was placed; its first write is a create that never takes over an object that appeared
// meanwhile; a copy is deleted only when its marks name exactly its source, kind included, and it
// was not released to the provider (MarkReleased); finalizers of others are never touched.
// NewController runs the Reconciler for every source object of a multicluster-runtime manager's
// clusters, with the watches that bring an object back when its copy, a related object, a related
// copy or a filtered namespace changes, and a bounded retry for blocked objects.
package syncengine
