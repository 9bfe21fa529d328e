// Package sync is bindery's sync engine: it keeps a copy of an object whose source of truth is
// cluster A in cluster B, and brings the copy's status and related objects back. The syncagent
// (A = a consumer's kcp workspace, B = the provider cluster) and the konnector (A = the consumer
// cluster, B = the provider cluster or a workspace) share it, so both follow one contract:
// the copy lands where the Namer says (one namespace per source cluster by default, a name that
// never collides for two source objects); it carries the source's top-level fields, after the
// spec mutation, but none of its status, server-set metadata or system labels and annotations;
// it bears ownership marks (an agent label, a source hash label and the full source identity in
// annotations) from which any agent restart recognises it without local memory; and the engine
// only ever writes a copy whose marks name its own agent and the same source object (Decide):
// an unmarked object, another agent's object or another source's copy is a conflict, reported
// to the user and never overwritten. Status flows the other way, from the copy through the
// status mutation (StatusUp). Related objects travel the same way from the side that owns them
// (Related), and their copies' status comes back to the original when asked to. A source object
// carries the Finalizer while it is synced; when the sync of its kind stops for good, ReleasePatch
// lets go of it and the copy stays. This file set holds the pure rules and the reconciler that
// reads and writes clusters through small interfaces.
package syncengine
