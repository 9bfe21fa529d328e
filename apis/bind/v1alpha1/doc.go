// Package v1alpha1 is the bind.bindery.dev/v1alpha1 API: what a provider offers to consumers in
// their own Kubernetes clusters, whom it serves, and what a consumer has bound.
//
// On the provider cluster: a Service groups PublishedResources (the same objects the syncagent
// publishes into kcp) into something a consumer can bind; who may bind it is plain RBAC (verb
// "bind" on "services"). A Consumer is one authenticated user's consumer cluster: its identity as
// the trusted issuer vouched for it, the namespace it owns, the ServiceAccount its konnector acts
// as, and the Services it has bound. A BoundAPI, in the Consumer's namespace, is one bound API as
// the konnector needs it: the consumer-facing CRD and how its objects are synced.
//
// On the consumer cluster: a ServiceBinding is a Service bound into that cluster, with the Secret
// holding the provider credential; bindery-konnector installs its APIs and syncs their objects.
//
// +kubebuilder:object:generate=true
// +groupName=bind.bindery.dev
package v1alpha1
