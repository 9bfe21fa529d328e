// Package kcpapis finds the APIs a kcp workspace has bound, for a bindery-backend that serves the
// workspace instead of a provider cluster: a Service in the workspace offers them to the
// workspace's own Kubernetes clusters, so that a team declares objects next to its workloads and
// the workspace passes them on to the API's provider.
//
// A workspace has no CustomResourceDefinition for an API it bound: the definition (an
// APIResourceSchema) lives in the provider's workspace, which the team usually may not read.
// BoundAPIs therefore builds the definition from what kcp serves in the workspace itself: the
// APIBinding's status.boundResources say which resources are bound, discovery gives their names,
// scope, served versions and subresources, and the workspace's OpenAPI v3 document (the one
// `kubectl explain` reads) gives each version's schema. It implements services.APIs.
package kcpapis
