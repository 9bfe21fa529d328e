// Package manager wires bindery-manager together: a multicluster manager over every kcp workspace
// (providers/workspaces) running the fleet controllers, starting with the catalog, and the
// bootstrap of the catalog workspace they write to.
package manager
