// Package services is the provider side of a bind.bindery.dev Service: what a Kubernetes consumer
// receives when it binds one. Resolve reads the PublishedResources a Service selects, validates
// them as the syncagent does, and projects each one's API into the consumer-facing
// CustomResourceDefinition, with the same projection the syncagent publishes into kcp, so that a
// PublishedResource serves kcp workspaces and Kubernetes clusters alike. Where the API a
// PublishedResource names comes from is an APIs: the CRDs of a provider cluster (ClusterCRDs),
// or the APIs a kcp workspace has bound (pkg/kcpapis) when a backend serves a workspace. A
// problem comes back as an Error that names the PublishedResource and the field at fault in words
// a user can act on. The Reconciler keeps every Service's status (resources and the Ready
// condition) in line with what Resolve finds, and looks again when PublishedResources or the
// APIs' definitions change.
package services
