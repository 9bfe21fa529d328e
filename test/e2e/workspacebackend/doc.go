// Package workspacebackend tests the chain in which a kcp workspace is the backend: a provider
// cluster runs the example database operator, bindery-syncagent publishes its Database API into
// an APIExport, a team workspace binds it, and bindery-backend serves that workspace to the
// team's own Kubernetes clusters, whose bindery-konnectors sync their Databases into the
// workspace: team cluster -> workspace (konnector) -> provider cluster (syncagent), status and
// the credentials Secret back over both hops. Everything runs as real processes against a real
// kcp and real kube-apiservers.
package workspacebackend
