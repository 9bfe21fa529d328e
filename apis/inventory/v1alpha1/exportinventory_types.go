package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ExportInventory lists the consumers of one APIExport of the workspace it is in; its name is
// the export's name.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=bindery
// +kubebuilder:printcolumn:name="Consumers",type=integer,JSONPath=`.summary.consumers`
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.summary.ready`
// +kubebuilder:printcolumn:name="Unhealthy",type=integer,JSONPath=`.summary.unhealthy`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ExportInventory struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Summary counts the consumers.
	Summary Summary `json:"summary"`
	// Consumers are the workspaces that bind the export, sorted by path.
	// +optional
	Consumers []Consumer `json:"consumers,omitempty"`
}

// Summary counts the consumers of an export.
type Summary struct {
	Consumers int32 `json:"consumers"`
	Ready     int32 `json:"ready"`
	// Unhealthy counts the consumers with a problem.
	Unhealthy int32 `json:"unhealthy"`
}

// Consumer is one workspace that binds the export.
type Consumer struct {
	// Path and Cluster of the consumer's workspace.
	Path    string `json:"path"`
	Cluster string `json:"cluster"`
	// Binding is the name of the consumer's APIBinding.
	Binding string `json:"binding"`
	// Ready is the binding's Ready condition.
	Ready bool `json:"ready"`
	// AcceptedClaims and RejectedClaims are the permission claims the consumer decided on,
	// as resource.group.
	// +optional
	AcceptedClaims []string `json:"acceptedClaims,omitempty"`
	// +optional
	RejectedClaims []string `json:"rejectedClaims,omitempty"`
	// Problem is set when the binding is unhealthy: not Ready for longer than the manager's
	// threshold, or a permission claim the export makes is not accepted. The consumer gets an
	// event on its APIBinding saying the same.
	// +optional
	Problem string `json:"problem,omitempty"`
}

// ExportInventoryList is a list of ExportInventories.
//
// +kubebuilder:object:root=true
type ExportInventoryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ExportInventory `json:"items"`
}
