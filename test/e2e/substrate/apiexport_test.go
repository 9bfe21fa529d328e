package substrate

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kcp-dev/logicalcluster/v3"
	apisv1alpha1 "github.com/kcp-dev/sdk/apis/apis/v1alpha1"
	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bindery-dev/bindery/test/framework"
)

const widgetGroup = "substrate.bindery.dev"

var widgetGVR = schema.GroupVersionResource{Group: widgetGroup, Version: "v1", Resource: "widgets"}

// TestAPIExportThroughVirtualWorkspace publishes a schema in a provider workspace, binds it from two
// consumer workspaces with an accepted Secrets claim and reads both consumers' objects through the
// export's virtual workspace URL at /clusters/*.
func TestAPIExportThroughVirtualWorkspace(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)

	provider := framework.NewWorkspace(t, "provider")
	createWidgetExport(t, provider, "widgets")

	consumers := []*framework.Workspace{
		framework.NewWorkspace(t, "consumer"),
		framework.NewWorkspace(t, "consumer"),
	}
	for _, consumer := range consumers {
		bindExport(t, consumer, provider.Path, "widgets")
	}

	url := waitForEndpointURL(t, provider, "widgets")
	t.Logf("virtual workspace URL: %s", url)

	for _, consumer := range consumers {
		widget := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": widgetGVR.GroupVersion().String(),
			"kind":       "Widget",
			"metadata":   map[string]any{"name": "w", "namespace": "default"},
			"spec":       map[string]any{"size": "small"},
		}}
		framework.CreateWhenServed(t, consumer.Client, widget)
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: "default"}}
		if err := consumer.Client.Create(ctx, secret); err != nil {
			t.Fatalf("creating a secret in %s: %v", consumer.Path, err)
		}
	}

	want := []string{consumers[0].Cluster.String(), consumers[1].Cluster.String()}
	slices.Sort(want)
	vw := wildcardClient(t, url)
	for _, gvr := range []schema.GroupVersionResource{widgetGVR, corev1.SchemeGroupVersion.WithResource("secrets")} {
		framework.WaitFor(t, time.Minute, fmt.Sprintf("%s of both consumers through %s/clusters/*", gvr.Resource, url),
			func(ctx context.Context) (bool, string, error) {
				list, err := vw.Resource(gvr).List(ctx, metav1.ListOptions{})
				if err != nil {
					return false, "", err
				}
				got := clustersOf(list.Items, "creds", "w")
				return slices.Equal(got, want), fmt.Sprintf("clusters %v, want %v", got, want), nil
			})
	}
}

// createWidgetExport creates an APIResourceSchema for namespaced Widgets and an APIExport of it
// that claims Secrets.
func createWidgetExport(t *testing.T, provider *framework.Workspace, name string) {
	t.Helper()
	ctx := framework.Context(t)
	schemaName := "v1." + widgetGVR.Resource + "." + widgetGroup
	openAPI := `{"type":"object","properties":{"spec":{"type":"object","properties":{"size":{"type":"string"}}}}}`
	resourceSchema := &apisv1alpha1.APIResourceSchema{
		ObjectMeta: metav1.ObjectMeta{Name: schemaName},
		Spec: apisv1alpha1.APIResourceSchemaSpec{
			Group: widgetGroup,
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
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: apisv1alpha2.APIExportSpec{
			Resources: []apisv1alpha2.ResourceSchema{{
				Name: "widgets", Group: widgetGroup, Schema: schemaName,
				Storage: apisv1alpha2.ResourceSchemaStorage{CRD: &apisv1alpha2.ResourceSchemaStorageCRD{}},
			}},
			PermissionClaims: []apisv1alpha2.PermissionClaim{secretsClaim()},
		},
	}
	if err := provider.Client.Create(ctx, export); err != nil {
		t.Fatalf("creating APIExport in %s: %v", provider.Path, err)
	}
}

func secretsClaim() apisv1alpha2.PermissionClaim {
	return apisv1alpha2.PermissionClaim{
		GroupResource: apisv1alpha2.GroupResource{Resource: "secrets"},
		Verbs:         []string{"get", "list", "watch"},
	}
}

// bindExport binds the export from a consumer workspace, accepting the Secrets claim, and waits
// until the binding is Bound.
func bindExport(t *testing.T, consumer *framework.Workspace, exportPath logicalcluster.Path, name string) {
	t.Helper()
	binding := &apisv1alpha2.APIBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: apisv1alpha2.APIBindingSpec{
			Reference: apisv1alpha2.BindingReference{
				Export: &apisv1alpha2.ExportBindingReference{Path: exportPath.String(), Name: name},
			},
			PermissionClaims: []apisv1alpha2.AcceptablePermissionClaim{{
				ScopedPermissionClaim: apisv1alpha2.ScopedPermissionClaim{
					PermissionClaim: secretsClaim(),
					Selector:        apisv1alpha2.PermissionClaimSelector{MatchAll: true},
				},
				State: apisv1alpha2.ClaimAccepted,
			}},
		},
	}
	if err := consumer.Client.Create(framework.Context(t), binding); err != nil {
		t.Fatalf("creating APIBinding in %s: %v", consumer.Path, err)
	}
	framework.WaitFor(t, time.Minute, fmt.Sprintf("APIBinding %s in %s to be Bound", name, consumer.Path),
		func(ctx context.Context) (bool, string, error) {
			if err := consumer.Client.Get(ctx, ctrlclient.ObjectKeyFromObject(binding), binding); err != nil {
				return false, "", err
			}
			return binding.Status.Phase == apisv1alpha2.APIBindingPhaseBound, fmt.Sprintf("phase %q", binding.Status.Phase), nil
		})
}

// waitForEndpointURL waits until the APIExportEndpointSlice kcp created for the export lists a URL.
func waitForEndpointURL(t *testing.T, provider *framework.Workspace, name string) string {
	t.Helper()
	slice := &apisv1alpha1.APIExportEndpointSlice{}
	framework.WaitFor(t, time.Minute, fmt.Sprintf("APIExportEndpointSlice %s in %s to list a URL", name, provider.Path),
		func(ctx context.Context) (bool, string, error) {
			if err := provider.Client.Get(ctx, ctrlclient.ObjectKey{Name: name}, slice); err != nil {
				return false, "", err
			}
			return len(slice.Status.APIExportEndpoints) > 0, fmt.Sprintf("%d endpoints", len(slice.Status.APIExportEndpoints)), nil
		})
	return slice.Status.APIExportEndpoints[0].URL
}

// wildcardClient returns a dynamic client for <url>/clusters/*, authenticated as kcp's admin.
func wildcardClient(t *testing.T, url string) *dynamic.DynamicClient {
	t.Helper()
	cfg := rest.CopyConfig(framework.KCP(t).AdminConfig())
	cfg.Host = url + "/clusters/*"
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("creating a client for %s: %v", cfg.Host, err)
	}
	return client
}

// clustersOf returns the sorted logical cluster names of the objects with one of the given names.
func clustersOf(items []unstructured.Unstructured, names ...string) []string {
	var clusters []string
	for _, item := range items {
		if slices.Contains(names, item.GetName()) {
			clusters = append(clusters, logicalcluster.From(&item).String())
		}
	}
	slices.Sort(clusters)
	return clusters
}
