// Package v1alpha1 is the bind.bindery.dev/v1alpha1 API: what a provider offers to consumers in
// their own Kubernetes clusters, and whom it serves. A Service groups PublishedResources (the same
// objects the syncagent publishes into kcp) into something a consumer can bind; who may bind it is
// plain RBAC (verb "bind" on "services"). A Consumer is one authenticated user's consumer cluster
// on the provider side: its identity as the trusted issuer vouched for it, the namespace it owns,
// the ServiceAccount its konnector acts as, and the Services it has bound.
//
// +kubebuilder:object:generate=true
// +groupName=bind.bindery.dev
package v1alpha1
