package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels and annotations a provider puts on an APIExport to list it in the catalog.
const (
	// ListedLabel set to "true" lists the APIExport.
	ListedLabel = "catalog.bindery.dev/listed"
	// DisplayNameAnnotation is the name the catalog shows (default: the export's name).
	DisplayNameAnnotation = "catalog.bindery.dev/display-name"
	// DescriptionAnnotation is a one-paragraph description for consumers.
	DescriptionAnnotation = "catalog.bindery.dev/description"
)

// CatalogEntry describes one listed APIExport: where it is, what it serves, what a consumer must
// accept to bind it, and how many workspaces bind it.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=bindery
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Service",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Provider",type=string,JSONPath=`.spec.export.path`
// +kubebuilder:printcolumn:name="Export",type=string,JSONPath=`.spec.export.name`
// +kubebuilder:printcolumn:name="Consumers",type=integer,JSONPath=`.status.consumers`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type CatalogEntry struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   CatalogEntrySpec   `json:"spec"`
	Status CatalogEntryStatus `json:"status,omitempty"`
}

// CatalogEntrySpec is what the manager read from the listed APIExport.
type CatalogEntrySpec struct {
	// Export locates the APIExport; bind it with an APIBinding referencing path and name.
	Export ExportReference `json:"export"`
	// DisplayName and Description come from the export's annotations.
	DisplayName string `json:"displayName"`
	// +optional
	Description string `json:"description,omitempty"`
	// Resources the export serves.
	// +optional
	Resources []Resource `json:"resources,omitempty"`
	// PermissionClaims a consumer must accept when binding.
	// +optional
	PermissionClaims []PermissionClaim `json:"permissionClaims,omitempty"`
}

// ExportReference locates an APIExport.
type ExportReference struct {
	// Path of the provider's workspace, e.g. root:providers:databases.
	Path string `json:"path"`
	// Cluster is the logical cluster name of that workspace.
	Cluster string `json:"cluster"`
	// Name of the APIExport.
	Name string `json:"name"`
}

// Resource is one resource an export serves.
type Resource struct {
	Group    string `json:"group"`
	Resource string `json:"resource"`
	// +optional
	Versions []string `json:"versions,omitempty"`
}

// PermissionClaim is access to consumers' objects that the export asks for.
type PermissionClaim struct {
	// +optional
	Group    string   `json:"group,omitempty"`
	Resource string   `json:"resource"`
	Verbs    []string `json:"verbs"`
	// +optional
	IdentityHash string `json:"identityHash,omitempty"`
}

// CatalogEntryStatus is what the manager observed about the export's use.
type CatalogEntryStatus struct {
	// Consumers is the number of workspaces with an APIBinding to the export.
	Consumers int32 `json:"consumers"`
}

// CatalogEntryList is a list of CatalogEntries.
//
// +kubebuilder:object:root=true
type CatalogEntryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CatalogEntry `json:"items"`
}
