package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Service is something a consumer can bind into its own Kubernetes cluster: the APIs of the
// PublishedResources it selects, under a title and description the backend's page shows. Who may
// bind it is decided by the provider cluster's RBAC: verb "bind" on resource "services" of group
// bind.bindery.dev, with the Service's name as resource name.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=svcb,categories=bindery
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Title",type=string,JSONPath=`.spec.title`
// +kubebuilder:printcolumn:name="Resources",type=string,JSONPath=`.status.resources[*].kind`,description="The kinds consumers receive"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Service struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ServiceSpec   `json:"spec"`
	Status ServiceStatus `json:"status,omitempty"`
}

// ServiceSpec describes a Service to consumers and selects what it contains.
type ServiceSpec struct {
	// Title is the Service's name on the backend's page, e.g. "PostgreSQL databases".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=100
	Title string `json:"title"`
	// Description is one paragraph for consumers: what they get and what it costs.
	// +optional
	// +kubebuilder:validation:MaxLength=2000
	Description string `json:"description,omitempty"`
	// PublishedResources selects, by label, the PublishedResources whose APIs the Service offers.
	// Consumers receive each one's projected API (the same schema kcp consumers see); its related
	// objects travel with it.
	PublishedResources metav1.LabelSelector `json:"publishedResources"`
	// Quota caps, for every Consumer that binds the Service, how many objects of each of its
	// resources the Consumer may have on the provider. A Consumer's own spec.quota takes its
	// place. Unset: no cap.
	// +optional
	Quota *ObjectQuota `json:"quota,omitempty"`
}

// ObjectQuota caps the objects one Consumer may have in its namespace on the provider. The
// backend enforces it with a ResourceQuota there (count/<resource>.<group> for every
// provider-side resource the Consumer bound), so the provider's kube-apiserver refuses the object
// over the cap; the konnector reports the refusal on the consumer's object as the condition
// sync.bindery.dev/Synced with reason QuotaExceeded, and an event of that reason.
type ObjectQuota struct {
	// MaxObjects is how many objects of each resource one Consumer may have; 0 allows none.
	// +kubebuilder:validation:Minimum=0
	MaxObjects int64 `json:"maxObjects"`
}

// ServiceStatus is what the backend found for the Service.
type ServiceStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Resources are the APIs consumers receive, one per selected PublishedResource.
	// +optional
	// +listType=map
	// +listMapKey=publishedResource
	Resources []ServiceResource `json:"resources,omitempty"`
	// Conditions: Ready is True when the Service selects at least one PublishedResource and every
	// selected one is valid and its CRD exists.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ServiceResource is one API a Service offers, as consumers see it.
type ServiceResource struct {
	// PublishedResource is the name of the PublishedResource it comes from.
	PublishedResource string `json:"publishedResource"`
	// Group, Resource and Kind are the consumer-facing names (after projection).
	// +optional
	Group    string `json:"group,omitempty"`
	Resource string `json:"resource"`
	Kind     string `json:"kind"`
	// Versions served to consumers.
	// +optional
	Versions []string `json:"versions,omitempty"`
}

// Condition types and reasons of a Service.
const (
	ServiceConditionReady = "Ready"

	ServiceReasonReady             = "Ready"
	ServiceReasonNoResources       = "NoPublishedResources"
	ServiceReasonInvalidResource   = "InvalidPublishedResource"
	ServiceReasonInvalidSelector   = "InvalidSelector"
	ServiceReasonSourceCRDNotFound = "CRDNotFound"
	// ServiceReasonAPINotBound: a backend serving a kcp workspace found no Bound APIBinding that
	// binds the API a PublishedResource names.
	ServiceReasonAPINotBound = "APINotBound"
)

// ServiceList is a list of Services.
//
// +kubebuilder:object:root=true
type ServiceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Service `json:"items"`
}
