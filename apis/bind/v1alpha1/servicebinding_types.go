package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ServiceBinding is a provider's Service bound into this (the consumer's) cluster. It lives in the
// consumer cluster; `kubectl bindery bind` creates it with the Secret holding the provider
// credential, and bindery-konnector acts on it: it installs the Service's APIs as CRDs here and
// syncs the objects created of them into the provider's namespace for this cluster, status and
// related objects (such as credentials Secrets) back.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=bindery
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Service",type=string,JSONPath=`.spec.service`
// +kubebuilder:printcolumn:name="Backend",type=string,JSONPath=`.spec.backend`
// +kubebuilder:printcolumn:name="Connected",type=string,JSONPath=`.status.conditions[?(@.type=="Connected")].status`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Heartbeat",type=date,JSONPath=`.status.lastHeartbeatTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ServiceBinding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ServiceBindingSpec   `json:"spec"`
	Status ServiceBindingStatus `json:"status,omitempty"`
}

// ServiceBindingSpec says which Service of which provider, and how to reach it.
//
// +kubebuilder:validation:XValidation:rule="self.backend == oldSelf.backend && self.service == oldSelf.service && self.consumer == oldSelf.consumer && self.providerNamespace == oldSelf.providerNamespace",message="spec.backend, service, consumer and providerNamespace are immutable: bind again under another name to bind something else"
// +kubebuilder:validation:XValidation:rule="has(self.group) == has(oldSelf.group) && (!has(self.group) || self.group == oldSelf.group)",message="spec.group is immutable: the received APIs' CRDs are named after it"
type ServiceBindingSpec struct {
	// Backend is the URL of the provider's bindery-backend.
	// +kubebuilder:validation:MinLength=1
	Backend string `json:"backend"`
	// Service is the name of the Service at that backend.
	// +kubebuilder:validation:MinLength=1
	Service string `json:"service"`
	// Consumer is the name of the Consumer the provider keeps for this cluster and user.
	// +kubebuilder:validation:MinLength=1
	Consumer string `json:"consumer"`
	// ProviderNamespace is the namespace on the provider cluster that the Consumer owns.
	// +kubebuilder:validation:MinLength=1
	ProviderNamespace string `json:"providerNamespace"`
	// CredentialSecret holds, under the key "kubeconfig", the kubeconfig that reaches the provider
	// cluster as the Consumer's ServiceAccount. The konnector renews the token in it before it
	// expires.
	CredentialSecret SecretReference `json:"credentialSecret"`
	// Group, when set, is the API group the Service's APIs are received under instead of the
	// provider's, so that the same API from two providers fits in one cluster.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$`
	Group string `json:"group,omitempty"`
}

// SecretReference names a Secret.
type SecretReference struct {
	// +kubebuilder:validation:MinLength=1
	Namespace string `json:"namespace"`
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// ServiceBindingStatus is how the binding is doing.
type ServiceBindingStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Resources are the APIs received, as they are served in this cluster.
	// +optional
	Resources []ReceivedResource `json:"resources,omitempty"`
	// LastHeartbeatTime is when the konnector last renewed its Lease on the provider.
	// +optional
	LastHeartbeatTime *metav1.Time `json:"lastHeartbeatTime,omitempty"`
	// CredentialExpiresAt is when the provider credential expires unless it is renewed.
	// +optional
	CredentialExpiresAt *metav1.Time `json:"credentialExpiresAt,omitempty"`
	// Conditions: Connected (the provider answers the credential), SchemaInSync (the received
	// CRDs are installed as the provider publishes them), Synced (the objects' sync runs), and
	// Ready (all three).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ReceivedResource is one API a ServiceBinding installed.
type ReceivedResource struct {
	// CRD is the name of the installed CustomResourceDefinition.
	CRD string `json:"crd"`
	// +optional
	Group    string `json:"group,omitempty"`
	Resource string `json:"resource"`
	Kind     string `json:"kind"`
}

// Condition types and reasons of a ServiceBinding.
const (
	BindingConditionConnected    = "Connected"
	BindingConditionSchemaInSync = "SchemaInSync"
	BindingConditionSynced       = "Synced"
	BindingConditionReady        = "Ready"

	BindingReasonConnected           = "Connected"
	BindingReasonCredentialMissing   = "CredentialMissing"
	BindingReasonProviderUnreachable = "ProviderUnreachable"
	BindingReasonRevoked             = "Revoked"
	BindingReasonSchemaInstalled     = "SchemaInstalled"
	BindingReasonSchemaConflict      = "SchemaConflict"
	BindingReasonSyncRunning         = "SyncRunning"
	BindingReasonSyncFailed          = "SyncFailed"
	BindingReasonReady               = "Ready"
	// BindingReasonServiceWithdrawn: the provider deleted the bound Service, so it publishes
	// none of its APIs any more; the sync stopped and the consumer's objects were released
	// (they stay, and so do their copies on the provider).
	BindingReasonServiceWithdrawn = "ServiceWithdrawn"
)

// CredentialKubeconfigKey is the key of ServiceBindingSpec.CredentialSecret holding the kubeconfig.
const CredentialKubeconfigKey = "kubeconfig"

// ServiceBindingList is a list of ServiceBindings.
//
// +kubebuilder:object:root=true
type ServiceBindingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ServiceBinding `json:"items"`
}
