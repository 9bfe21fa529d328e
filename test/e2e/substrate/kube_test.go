package substrate

import (
	"context"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bindery-dev/bindery/test/framework"
)

// TestKubeClusterServesCRD starts a real kube-apiserver, installs a CRD and round-trips an instance.
func TestKubeClusterServesCRD(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	kube := framework.StartKube(t)
	client := framework.NewClient(t, kube.Config())

	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "databases.provider.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "provider.example.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{
				Plural: "databases", Singular: "database", Kind: "Database", ListKind: "DatabaseList",
			},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
							"engine": {Type: "string"},
						}},
					},
				}},
			}},
		},
	}
	if err := client.Create(ctx, crd); err != nil {
		t.Fatalf("creating CRD: %v", err)
	}
	framework.WaitFor(t, time.Minute, "CRD to be Established", func(ctx context.Context) (bool, string, error) {
		if err := client.Get(ctx, ctrlclient.ObjectKeyFromObject(crd), crd); err != nil {
			return false, "", err
		}
		for _, cond := range crd.Status.Conditions {
			if cond.Type == apiextensionsv1.Established {
				return cond.Status == apiextensionsv1.ConditionTrue, cond.Message, nil
			}
		}
		return false, "no Established condition", nil
	})

	db := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "provider.example.com/v1",
		"kind":       "Database",
		"metadata":   map[string]any{"name": "orders", "namespace": "default"},
		"spec":       map[string]any{"engine": "postgres"},
	}}
	framework.CreateWhenServed(t, client, db)
	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(db.GroupVersionKind())
	if err := client.Get(ctx, ctrlclient.ObjectKeyFromObject(db), got); err != nil {
		t.Fatalf("reading the Database back: %v", err)
	}
	if engine, _, _ := unstructured.NestedString(got.Object, "spec", "engine"); engine != "postgres" {
		t.Fatalf("spec.engine = %q, want %q", engine, "postgres")
	}
}
