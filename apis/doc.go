// Package apis holds bindery's API types, one folder per group and version (for example
// apis/syncagent/v1alpha1). Types carry kubebuilder markers; `make generate` writes their deepcopy
// code and the CRDs in deploy/crd. Packages here import only apimachinery.
package apis
