// Package workspaces is a multicluster-runtime provider that engages every kcp workspace (logical
// cluster) its config can see, through one wildcard watch of LogicalCluster objects at
// <kcp>/clusters/*. Options narrow the fleet by workspace type, path prefix or label.
//
// Like providers/apiexport, it shares one set of informers among all engaged clusters and routes
// events by logical cluster. bindery-manager uses it to watch APIExports and APIBindings in every
// workspace.
package workspaces
