package framework

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kcp-dev/logicalcluster/v3"
	apisv1alpha1 "github.com/kcp-dev/sdk/apis/apis/v1alpha1"
	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
)

// Widgets are the namespaced test resource that e2e tests export from provider workspaces:
// kind Widget, version v1, with a string field spec.size.
func WidgetGVR(group string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: group, Version: "v1", Resource: "widgets"}
}

// NewWidget returns a Widget object of the given group.
func NewWidget(group, namespace, name, size string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": group + "/v1",
		"kind":       "Widget",
		"metadata":   map[string]any{"name": name, "namespace": namespace},
		"spec":       map[string]any{"size": size},
	}}
}

// ExportWidgets creates an APIResourceSchema for Widgets of the group and an APIExport named
// exportName that serves them and asks for the given permission claims.
func ExportWidgets(t testing.TB, provider *Workspace, exportName, group string, claims ...apisv1alpha2.PermissionClaim) {
	t.Helper()
	ctx := Context(t)
	schemaName := "v1.widgets." + group
	openAPI := `{"type":"object","properties":{"spec":{"type":"object","properties":{"size":{"type":"string"}}}}}`
	resourceSchema := &apisv1alpha1.APIResourceSchema{
		ObjectMeta: metav1.ObjectMeta{Name: schemaName},
		Spec: apisv1alpha1.APIResourceSchemaSpec{
			Group: group,
			Names: apiextensionsv1.CustomResourceDefinitionNames{
				Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList",
			},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apisv1alpha1.APIResourceVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: runtime.RawExtension{Raw: []byte(openAPI)},
			}},
		},
	}
	if err := provider.Client.Create(ctx, resourceSchema); err != nil {
		t.Fatalf("creating APIResourceSchema in %s: %v", provider.Path, err)
	}
	export := &apisv1alpha2.APIExport{
		ObjectMeta: metav1.ObjectMeta{Name: exportName},
		Spec: apisv1alpha2.APIExportSpec{
			Resources: []apisv1alpha2.ResourceSchema{{
				Name: "widgets", Group: group, Schema: schemaName,
				Storage: apisv1alpha2.ResourceSchemaStorage{CRD: &apisv1alpha2.ResourceSchemaStorageCRD{}},
			}},
			PermissionClaims: claims,
		},
	}
	if err := provider.Client.Create(ctx, export); err != nil {
		t.Fatalf("creating APIExport in %s: %v", provider.Path, err)
	}
}

// Claim is a permission claim on a resource with the given verbs.
func Claim(group, resource string, verbs ...string) apisv1alpha2.PermissionClaim {
	return apisv1alpha2.PermissionClaim{
		GroupResource: apisv1alpha2.GroupResource{Group: group, Resource: resource},
		Verbs:         verbs,
	}
}

// Bind creates an APIBinding named exportName in the consumer workspace, accepting the given
// claims for all objects, and waits until it is Bound.
func Bind(t testing.TB, consumer *Workspace, exportPath logicalcluster.Path, exportName string, accepted ...apisv1alpha2.PermissionClaim) *apisv1alpha2.APIBinding {
	t.Helper()
	binding := &apisv1alpha2.APIBinding{
		ObjectMeta: metav1.ObjectMeta{Name: exportName},
		Spec: apisv1alpha2.APIBindingSpec{
			Reference: apisv1alpha2.BindingReference{
				Export: &apisv1alpha2.ExportBindingReference{Path: exportPath.String(), Name: exportName},
			},
		},
	}
	for _, claim := range accepted {
		binding.Spec.PermissionClaims = append(binding.Spec.PermissionClaims, apisv1alpha2.AcceptablePermissionClaim{
			ScopedPermissionClaim: apisv1alpha2.ScopedPermissionClaim{
				PermissionClaim: claim,
				Selector:        apisv1alpha2.PermissionClaimSelector{MatchAll: true},
			},
			State: apisv1alpha2.ClaimAccepted,
		})
	}
	if err := consumer.Client.Create(Context(t), binding); err != nil {
		t.Fatalf("creating APIBinding in %s: %v", consumer.Path, err)
	}
	WaitFor(t, time.Minute, fmt.Sprintf("APIBinding %s in %s to be Bound", exportName, consumer.Path),
		func(ctx context.Context) (bool, string, error) {
			if err := consumer.Client.Get(ctx, ctrlclient.ObjectKeyFromObject(binding), binding); err != nil {
				return false, "", err
			}
			return binding.Status.Phase == apisv1alpha2.APIBindingPhaseBound, fmt.Sprintf("phase %q", binding.Status.Phase), nil
		})
	return binding
}

// BindExport binds the APIExport name of exporter in ws once it serves resources (a syncagent
// publishes them after it starts), accepting every permission claim it makes.
func BindExport(t testing.TB, ws, exporter *Workspace, name string) *apisv1alpha2.APIBinding {
	t.Helper()
	export := &apisv1alpha2.APIExport{}
	WaitFor(t, time.Minute, "APIExport "+name+" to serve the published API", func(ctx context.Context) (bool, string, error) {
		if err := exporter.Client.Get(ctx, ctrlclient.ObjectKey{Name: name}, export); err != nil {
			return false, "", err
		}
		return len(export.Spec.Resources) > 0, fmt.Sprintf("%d resources", len(export.Spec.Resources)), nil
	})
	return Bind(t, ws, exporter.Path, name, export.Spec.PermissionClaims...)
}

// EndpointURL waits until the APIExportEndpointSlice kcp created for an export lists a URL and
// returns the first. kcp lists a shard's URL only once some workspace binds the export.
func EndpointURL(t testing.TB, provider *Workspace, sliceName string) string {
	t.Helper()
	slice := &apisv1alpha1.APIExportEndpointSlice{}
	WaitFor(t, time.Minute, fmt.Sprintf("APIExportEndpointSlice %s in %s to list a URL", sliceName, provider.Path),
		func(ctx context.Context) (bool, string, error) {
			if err := provider.Client.Get(ctx, ctrlclient.ObjectKey{Name: sliceName}, slice); err != nil {
				return false, "", err
			}
			return len(slice.Status.APIExportEndpoints) > 0, fmt.Sprintf("%d endpoints", len(slice.Status.APIExportEndpoints)), nil
		})
	return slice.Status.APIExportEndpoints[0].URL
}

// BindingFor returns an APIBinding object with the given name, for deletes and gets.
func BindingFor(name string) *apisv1alpha2.APIBinding {
	return &apisv1alpha2.APIBinding{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

// Database returns an object of the example operator's Database API (examples/database-operator)
// under the kind it is known as where it is created, with spec.engine postgres.
func Database(kind schema.GroupVersionKind, namespace, name string) *unstructured.Unstructured {
	db := &unstructured.Unstructured{}
	db.SetGroupVersionKind(kind)
	db.SetNamespace(namespace)
	db.SetName(name)
	_ = unstructured.SetNestedField(db.Object, "postgres", "spec", "engine")
	return db
}
