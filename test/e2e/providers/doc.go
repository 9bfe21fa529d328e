// Package providers tests bindery's multicluster-runtime providers against a real kcp: controllers
// built with mcbuilder reconcile objects in many workspaces through providers/apiexport and
// providers/workspaces, and see clusters come and go.
package providers
