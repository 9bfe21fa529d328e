// Package manager tests bindery-manager against a real kcp: the catalog of listed APIExports with
// their consumer counts, following bindings and workspaces as they come and go.
package manager
