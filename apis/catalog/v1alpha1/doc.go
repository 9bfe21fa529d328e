// Package v1alpha1 is the catalog.bindery.dev/v1alpha1 API: CatalogEntry, one per APIExport that a
// provider lists for discovery. bindery-manager writes the entries into the catalog workspace; any
// authenticated user may read them, nobody else writes them.
//
// +kubebuilder:object:generate=true
// +groupName=catalog.bindery.dev
package v1alpha1
