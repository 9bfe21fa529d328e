// Package syncspec compiles a PublishedResourceSpec into the sync engine's configuration: its
// projection into the engine's Kinds (the consumer-facing kind as the source, the CRD's kind as
// the destination, whether status flows back), its naming into a Namer, its filter into
// selectors, its mutation into programs, and its related entries into the engine's Related list.
//
// Both processes that run the engine for a PublishedResource use it, so that one
// PublishedResource means the same sync wherever it is served: bindery-syncagent (source = a
// consumer's kcp workspace) and bindery-konnector (source = a consumer's own Kubernetes cluster,
// destination = the consumer's namespace on the provider). Compile is pure: the caller finds the
// CRD and says how a related resource's provider-side kind is resolved; errors name the field of
// the PublishedResource they come from (spec.naming.name, spec.mutation.spec,
// spec.related[0].object.reference.path, ...), so that they can go into a status condition as
// they are.
package syncspec
