// Package apiexport is a multicluster-runtime provider for the consumers of one kcp APIExport.
//
// It follows the APIExportEndpointSlice of the export: for every endpoint (one virtual workspace
// URL per shard) it runs one set of shared wildcard informers at <url>/clusters/*, and engages
// each logical cluster that has a Ready APIBinding to the export, disengaging it when the last
// such binding goes or turns unready. Every engaged cluster is a cluster.Cluster whose client talks
// to <url>/clusters/<name> and whose cache reads the shared informers, scoped to that cluster.
//
// Events are routed: each shared informer has one handler that dispatches by logical cluster, so
// an event costs the same with ten clusters as with ten thousand. See docs/providers.md.
package apiexport
