// Package publishing turns PublishedResources into kcp API definitions: it validates a
// PublishedResource, builds an immutable APIResourceSchema from the CRD it names with the
// projection applied, and merges the agent's schemas and permission claims into the APIExport
// without touching what others put there. The Reconciler drives it and reports every step in the
// PublishedResource's conditions and events.
package publishing
