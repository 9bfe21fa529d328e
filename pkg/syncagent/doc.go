// Package syncagent wires bindery-syncagent together: a controller-runtime manager on the provider
// cluster (leader election, metrics, health), a view of the provider's kcp workspace, and the
// publishing controller that turns PublishedResources into an APIExport.
package syncagent
