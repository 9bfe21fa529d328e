// Package v1alpha1 is the syncagent.bindery.dev/v1alpha1 API: PublishedResource, the contract
// between a provider's Kubernetes cluster and the consumers in kcp. Each PublishedResource names
// one CRD of the provider cluster, says under which names consumers see it (projection), where
// consumer objects land in the provider cluster (naming), which of them are synced (filter), how
// they are rewritten on the way down and up (mutation), and which related objects travel with
// them (related).
//
// +kubebuilder:object:generate=true
// +groupName=syncagent.bindery.dev
package v1alpha1
