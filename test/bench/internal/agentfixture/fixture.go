// Package agentfixture is the provider side that the syncagent benchmarks in test/bench share: a
// CRD with a status subresource in an internal group (PostgresCluster), the PublishedResource that
// projects it as Database of the published group, objects of that API, and waiting until the agent
// has published it.
package agentfixture

import (
	"context"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/test/framework"
)

const (
	// InternalGroup is the provider's own API group, where the copies land (kind PostgresCluster).
	InternalGroup = "internal.bench.example.com"
	// PublishedGroup is the group consumers see (kind Database).
	PublishedGroup = "bench.example.com"
	// Name is the PublishedResource's name, and the APIExport's and endpoint slice's the
	// benchmarks start the agent with.
	Name = "bench"
)

// CopyGVR is the resource of the copies in the provider cluster.
var CopyGVR = schema.GroupVersionResource{Group: InternalGroup, Version: "v1", Resource: "postgresclusters"}

// CRD is the provider's CRD, with a status subresource.
func CRD() *apiextensionsv1.CustomResourceDefinition {
	preserve := true
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: CopyGVR.Resource + "." + InternalGroup},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: InternalGroup,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: CopyGVR.Resource, Singular: "postgrescluster", Kind: "PostgresCluster", ListKind: "PostgresClusterList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema:       &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: &preserve}},
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
			}},
		},
	}
}

// PublishedResource publishes the CRD's PostgresCluster as Database of PublishedGroup.
func PublishedResource() *syncagentv1alpha1.PublishedResource {
	return &syncagentv1alpha1.PublishedResource{
		ObjectMeta: metav1.ObjectMeta{Name: Name},
		Spec: syncagentv1alpha1.PublishedResourceSpec{
			Resource:   syncagentv1alpha1.SourceResource{APIGroup: InternalGroup, Kind: "PostgresCluster"},
			Projection: &syncagentv1alpha1.Projection{Group: PublishedGroup, Kind: "Database"},
		},
	}
}

// Object is an object of group/v1 kind in the namespace default, with a small spec.
func Object(group, kind, name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": group + "/v1", "kind": kind,
		"metadata": map[string]any{"name": name, "namespace": "default"},
		"spec":     map[string]any{"size": "small"},
	}}
}

// WaitForSynced waits until the PublishedResource is Synced: the agent has published it.
func WaitForSynced(t testing.TB, c client.Client, timeout time.Duration) {
	t.Helper()
	framework.WaitFor(t, timeout, "the PublishedResource to sync", func(ctx context.Context) (bool, string, error) {
		pr := &syncagentv1alpha1.PublishedResource{}
		if err := c.Get(ctx, client.ObjectKey{Name: Name}, pr); err != nil {
			return false, "", err
		}
		for _, cond := range pr.Status.Conditions {
			if cond.Type == syncagentv1alpha1.ConditionSynced && cond.Status == metav1.ConditionTrue {
				return true, "", nil
			}
		}
		return false, "not synced", nil
	})
}
