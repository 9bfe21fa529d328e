// Package syncagent wires bindery-syncagent together: a controller-runtime manager on the provider
// cluster (leader election, metrics, health), a view of the provider's kcp workspace, the
// publishing controller that turns PublishedResources into an APIExport, and the sync units. A
// unit is the sync engine's controller (syncengine.NewController) for one PublishedResource: this
// package compiles the PublishedResource into the engine's configuration with syncspec, as the
// konnector does (syncing.go), starts the unit once the provider cluster's caches it needs can
// be filled, restarts it with backoff when it fails, replaces it when the PublishedResource
// changes, and, when the sync stops for good, marks the copies released and lets go of the
// consumers' objects (units.go, release.go).
package syncagent
