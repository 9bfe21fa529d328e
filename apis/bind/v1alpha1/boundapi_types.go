package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
)

// BoundAPI is one API a Consumer has bound, as its konnector needs it: the consumer-facing CRD to
// install in the consumer cluster and how objects of it are synced into the Consumer's namespace.
// The backend writes one per bound PublishedResource into the Consumer's namespace on the provider
// cluster and keeps it up to date (schema changes follow); the Consumer's Role lets its konnector
// read them, nothing else about the provider's APIs.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,categories=bindery
// +kubebuilder:printcolumn:name="Service",type=string,JSONPath=`.spec.service`
// +kubebuilder:printcolumn:name="Consumer Kind",type=string,JSONPath=`.spec.consumerKind.kind`
// +kubebuilder:printcolumn:name="Provider Kind",type=string,JSONPath=`.spec.providerKind.kind`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BoundAPI struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec BoundAPISpec `json:"spec"`
}

// BoundAPISpec is what a konnector installs and how it syncs.
type BoundAPISpec struct {
	// Service is the bound Service the API belongs to.
	Service string `json:"service"`
	// PublishedResource is the provider's PublishedResource the API comes from.
	PublishedResource string `json:"publishedResource"`
	// CRD is the consumer-facing CustomResourceDefinition (projected as the PublishedResource
	// says), to install in the consumer cluster.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	CRD runtime.RawExtension `json:"crd"`
	// SchemaHash changes whenever the consumer-facing schema does.
	SchemaHash string `json:"schemaHash"`
	// ConsumerKind is the kind of the consumer's objects (the source of truth).
	ConsumerKind GroupVersionKind `json:"consumerKind"`
	// ProviderKind is the kind of their copies in the Consumer's namespace.
	ProviderKind GroupVersionKind `json:"providerKind"`
	// CopiesStatus says the provider's kind has a status subresource, whose content comes back.
	// +optional
	CopiesStatus bool `json:"copiesStatus,omitempty"`
	// Naming, Mutation and Related are the PublishedResource's: where copies land in the
	// namespace, how spec and status are rewritten, and which related objects travel.
	// +optional
	Naming *syncagentv1alpha1.Naming `json:"naming,omitempty"`
	// +optional
	Mutation *syncagentv1alpha1.Mutation `json:"mutation,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=32
	Related []syncagentv1alpha1.RelatedResource `json:"related,omitempty"`
}

// GroupVersionKind names a kind.
type GroupVersionKind struct {
	// +optional
	Group   string `json:"group,omitempty"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
	// Resource is the plural resource name.
	Resource string `json:"resource"`
}

// BoundAPIList is a list of BoundAPIs.
//
// +kubebuilder:object:root=true
type BoundAPIList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BoundAPI `json:"items"`
}
