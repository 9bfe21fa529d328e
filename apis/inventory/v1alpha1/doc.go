// Package v1alpha1 is the inventory.bindery.dev/v1alpha1 API: ExportInventory, which
// bindery-manager keeps in a provider's own workspace for each APIExport the provider lists: who
// consumes it and whether their bindings are healthy. Only the provider's workspace has it, so no
// consumer learns about another.
//
// +kubebuilder:object:generate=true
// +groupName=inventory.bindery.dev
package v1alpha1
