package publishing

import (
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
)

// SyncKinds are the two kinds the object sync of a PublishedResource moves between: the
// projected kind consumers create in kcp and the CRD's kind in the provider cluster, at the
// version pair that stores in kcp.
type SyncKinds struct {
	Consumer, Provider schema.GroupVersionKind
	// ConsumerNamespaced and ProviderNamespaced give the scope on each side; a projection may
	// publish a namespaced CRD cluster-scoped.
	ConsumerNamespaced, ProviderNamespaced bool
}

// KindsFor derives the sync kinds from the CRD and the PublishedResource, using the same
// projection as the published schema.
func KindsFor(crd *apiextensionsv1.CustomResourceDefinition, spec syncagentv1alpha1.PublishedResourceSpec) (SyncKinds, error) {
	resourceSchema, ferr := BuildSchema(crd, spec)
	if ferr != nil {
		return SyncKinds{}, ferr
	}
	published := ""
	for _, v := range resourceSchema.Spec.Versions {
		if v.Storage {
			published = v.Name
		}
	}
	source := published
	if spec.Projection != nil {
		for from, to := range spec.Projection.Versions {
			if to == published {
				source = from
			}
		}
	}
	if published == "" {
		return SyncKinds{}, fmt.Errorf("schema %s has no storage version", resourceSchema.Name)
	}
	return SyncKinds{
		Consumer:           gvk(resourceSchema.Spec.Group, published, resourceSchema.Spec.Names.Kind),
		Provider:           gvk(crd.Spec.Group, source, crd.Spec.Names.Kind),
		ConsumerNamespaced: resourceSchema.Spec.Scope == apiextensionsv1.NamespaceScoped,
		ProviderNamespaced: crd.Spec.Scope == apiextensionsv1.NamespaceScoped,
	}, nil
}

// HasStatus reports whether the CRD's version has a status subresource: only then does status
// flow back from a copy, written through the consumer kind's status subresource.
func HasStatus(crd *apiextensionsv1.CustomResourceDefinition, version string) bool {
	for _, v := range crd.Spec.Versions {
		if v.Name == version {
			return v.Subresources != nil && v.Subresources.Status != nil
		}
	}
	return false
}

func gvk(group, version, kind string) schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: group, Version: version, Kind: kind}
}
