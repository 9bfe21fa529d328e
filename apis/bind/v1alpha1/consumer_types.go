package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Consumer is one consumer cluster of one authenticated user, on the provider side. The backend
// creates it at the first bind and keys it by issuer, subject and the consumer cluster's identity:
// the identity is what the trusted issuer vouched for, never what a client asserts, so a client
// that sends another user's cluster identity gets a Consumer of its own. A Consumer owns one
// namespace, where the copies of its objects live, and a ServiceAccount whose Role allows exactly
// the bound resources and their related kinds in that namespace. Deleting the Consumer revokes it:
// the Role, the ServiceAccount (and with it every token issued for it) and the namespace go.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=bindery
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="User",type=string,JSONPath=`.spec.identity.username`
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.spec.cluster.name`
// +kubebuilder:printcolumn:name="Namespace",type=string,JSONPath=`.status.namespace`
// +kubebuilder:printcolumn:name="Services",type=string,JSONPath=`.spec.services[*].name`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Connected",type=string,JSONPath=`.status.conditions[?(@.type=="KonnectorConnected")].status`,description="Whether its konnector renews its heartbeat"
// +kubebuilder:printcolumn:name="Heartbeat",type=date,JSONPath=`.status.lastHeartbeatTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Consumer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ConsumerSpec   `json:"spec"`
	Status ConsumerStatus `json:"status,omitempty"`
}

// ConsumerSpec is who the Consumer is and what it has bound.
type ConsumerSpec struct {
	// Identity is the authenticated user who bound, as the issuer vouched for it.
	// +kubebuilder:validation:XValidation:rule="self.issuer == oldSelf.issuer && self.subject == oldSelf.subject",message="spec.identity.issuer and spec.identity.subject are immutable: a Consumer belongs to one user; create another Consumer for another user"
	Identity ConsumerIdentity `json:"identity"`
	// Cluster identifies the consumer's Kubernetes cluster.
	// +kubebuilder:validation:XValidation:rule="self.id == oldSelf.id",message="spec.cluster.id is immutable: a Consumer is one consumer cluster; another cluster gets another Consumer"
	Cluster ConsumerCluster `json:"cluster"`
	// Services the consumer has bound, by name.
	// +optional
	// +listType=map
	// +listMapKey=name
	Services []BoundService `json:"services,omitempty"`
	// Quota caps how many objects of each bound resource this Consumer may have on the provider,
	// in place of the quotas of its Services (spec.quota there): the provider's limit for one
	// reseller, say. Unset: the Services' quotas apply.
	// +optional
	Quota *ObjectQuota `json:"quota,omitempty"`
}

// ConsumerIdentity is an OIDC identity.
type ConsumerIdentity struct {
	// Issuer is the OIDC issuer URL.
	// +kubebuilder:validation:MinLength=1
	Issuer string `json:"issuer"`
	// Subject is the issuer's stable identifier of the user (the "sub" claim).
	// +kubebuilder:validation:MinLength=1
	Subject string `json:"subject"`
	// Username is the user's name as the provider's kube-apiserver names it (claim and prefix as
	// configured), the name RBAC rules and access reviews use.
	// +kubebuilder:validation:MinLength=1
	Username string `json:"username"`
	// DisplayName is a human-readable name (the "name" or "email" claim).
	// +optional
	DisplayName string `json:"displayName,omitempty"`
}

// ConsumerCluster identifies a consumer cluster. The identity is asserted by the client and only
// meaningful together with the authenticated user: it tells one user's clusters apart.
type ConsumerCluster struct {
	// ID is the consumer cluster's identity, by convention the UID of its kube-system namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	ID string `json:"id"`
	// Name is a human-readable name of the cluster (e.g. its kubeconfig context).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`
}

// BoundService is a Service a Consumer has bound.
type BoundService struct {
	// Name of the Service.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// ConsumerStatus is what the backend provisioned for the Consumer and how its konnector is doing.
type ConsumerStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Namespace the Consumer owns on the provider cluster; its objects' copies live there.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// ServiceAccount in that namespace that the Consumer's credentials authenticate as.
	// +optional
	ServiceAccount string `json:"serviceAccount,omitempty"`
	// LastHeartbeatTime is when the Consumer's konnector last renewed its Lease.
	// +optional
	LastHeartbeatTime *metav1.Time `json:"lastHeartbeatTime,omitempty"`
	// Conditions: Ready is True when the namespace, ServiceAccount and Role exist and the Role
	// allows what the bound Services need.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Condition types and reasons of a Consumer.
const (
	ConsumerConditionReady = "Ready"
	// ConsumerConditionKonnectorConnected is True while the Consumer's konnector renews its
	// heartbeat Lease.
	ConsumerConditionKonnectorConnected = "KonnectorConnected"

	ConsumerReasonProvisioned     = "Provisioned"
	ConsumerReasonServiceNotFound = "ServiceNotFound"
	ConsumerReasonServiceNotReady = "ServiceNotReady"
	ConsumerReasonProvisionFailed = "ProvisionFailed"

	ConsumerReasonHeartbeat        = "Heartbeat"
	ConsumerReasonNoHeartbeat      = "NoHeartbeat"
	ConsumerReasonHeartbeatStale   = "HeartbeatStale"
	ConsumerReasonHeartbeatUnknown = "HeartbeatUnknown"
)

// Labels on what the backend provisions for a Consumer.
const (
	// ConsumerLabel names the Consumer a namespace, ServiceAccount, Role or RoleBinding belongs to.
	ConsumerLabel = "bind.bindery.dev/consumer"
	// QuotaName is the ResourceQuota in a Consumer's namespace that enforces its ObjectQuota.
	QuotaName = "bindery-objects"
)

// ConsumerList is a list of Consumers.
//
// +kubebuilder:object:root=true
type ConsumerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Consumer `json:"items"`
}
