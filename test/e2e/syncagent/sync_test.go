package syncagent

import (
	"context"
	"fmt"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/syncagent"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestSyncRoundTrip syncs Databases from three consumer workspaces into the provider cluster:
// spec down, status up, a provider-side field kept across consumer updates, deletion through the
// finalizer, and a copy deleted on the provider side by mistake coming back.
func TestSyncRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	kube := framework.StartKube(t, "deploy/crd")
	providerCluster := framework.NewClient(t, kube.Config())
	if err := providerCluster.Create(ctx, syncCRD()); err != nil {
		t.Fatalf("creating the provider CRD: %v", err)
	}
	provider := framework.NewWorkspace(t, "provider")
	startAgent(t, provider, syncagent.Options{ProviderConfig: kube.Config(), EndpointSliceName: exportName, AgentName: "sync"})
	if err := providerCluster.Create(ctx, databasesPR()); err != nil {
		t.Fatal(err)
	}
	waitForCondition(t, providerCluster, "databases", syncagentv1alpha1.ConditionSynced, metav1.ConditionTrue, "SyncRunning", "")

	consumers := make([]*framework.Workspace, 3)
	for i := range consumers {
		consumers[i] = framework.NewWorkspace(t, "consumer")
		framework.Bind(t, consumers[i], provider.Path, exportName,
			framework.Claim("", "events", "create", "patch", "update"),
			framework.Claim("", "namespaces", "create", "get", "list", "watch"))
		framework.CreateWhenServed(t, consumers[i].Client, database("orders", "postgres"))
	}

	t.Log("spec flows down into one copy per consumer; status flows back up")
	for _, consumer := range consumers {
		source := syncengine.Source{Cluster: consumer.Cluster.String(), Namespace: "default", Name: "orders"}
		copied := waitForCopy(t, providerCluster, source, "engine", "postgres")
		copied.Object["status"] = map[string]any{"phase": "Ready"}
		if err := providerCluster.Status().Update(ctx, copied); err != nil {
			t.Fatalf("the provider's operator writing status: %v", err)
		}
		waitForField(t, consumer.Client, "status.phase=Ready in "+consumer.Path.String(), "orders", []string{"status", "phase"}, "Ready")
	}

	t.Log("a field the provider set survives a consumer update")
	source := syncengine.Source{Cluster: consumers[0].Cluster.String(), Namespace: "default", Name: "orders"}
	copied := waitForCopy(t, providerCluster, source, "engine", "postgres")
	if err := unstructured.SetNestedField(copied.Object, "gold", "spec", "tier"); err != nil {
		t.Fatal(err)
	}
	if err := providerCluster.Update(ctx, copied); err != nil {
		t.Fatalf("the provider defaulting spec.tier: %v", err)
	}
	db := database("orders", "")
	if err := consumers[0].Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "orders"}, db); err != nil {
		t.Fatal(err)
	}
	_ = unstructured.SetNestedField(db.Object, "mysql", "spec", "engine")
	if err := consumers[0].Client.Update(ctx, db); err != nil {
		t.Fatalf("updating the consumer's Database: %v", err)
	}
	copied = waitForCopy(t, providerCluster, source, "engine", "mysql")
	if tier, _, _ := unstructured.NestedString(copied.Object, "spec", "tier"); tier != "gold" {
		t.Fatalf("spec.tier = %q after the consumer's update, want the provider's %q", tier, "gold")
	}

	t.Log("a copy deleted on the provider side by mistake is re-created")
	lost := syncengine.Source{Cluster: consumers[1].Cluster.String(), Namespace: "default", Name: "orders"}
	lostCopy := waitForCopy(t, providerCluster, lost, "engine", "postgres")
	if err := providerCluster.Delete(ctx, lostCopy); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, time.Minute, "the deleted copy to come back", func(ctx context.Context) (bool, string, error) {
		again := findCopy(ctx, t, providerCluster, lost)
		return again != nil && again.GetUID() != lostCopy.GetUID(), "not yet", nil
	})

	t.Log("deleting the consumer's object deletes the copy, then releases the object")
	if err := consumers[2].Client.Delete(ctx, database("orders", "")); err != nil {
		t.Fatal(err)
	}
	gone := syncengine.Source{Cluster: consumers[2].Cluster.String(), Namespace: "default", Name: "orders"}
	framework.WaitFor(t, time.Minute, "the copy and the consumer's object to be gone", func(ctx context.Context) (bool, string, error) {
		if findCopy(ctx, t, providerCluster, gone) != nil {
			return false, "copy still there", nil
		}
		err := consumers[2].Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "orders"}, database("orders", ""))
		return apierrors.IsNotFound(err), fmt.Sprintf("consumer object: %v", err), nil
	})
}

// databasesPR publishes the provider's PostgresCluster as Database in databases.example.com/v1.
func databasesPR(related ...syncagentv1alpha1.RelatedResource) *syncagentv1alpha1.PublishedResource {
	return &syncagentv1alpha1.PublishedResource{
		ObjectMeta: metav1.ObjectMeta{Name: "databases"},
		Spec: syncagentv1alpha1.PublishedResourceSpec{
			Resource:   syncagentv1alpha1.SourceResource{APIGroup: internalGroup, Kind: "PostgresCluster"},
			Projection: &syncagentv1alpha1.Projection{Group: publishedGroup, Kind: "Database", Versions: map[string]string{"v1beta1": "v1"}},
			Related:    related,
		},
	}
}

// syncCRD is the provider's CRD with the fields the sync tests use: spec.engine, spec.tier (set by
// the provider), spec.configRef, status.phase and status.credentialsSecretRef.name.
func syncCRD() *apiextensionsv1.CustomResourceDefinition {
	crd := postgresCRD()
	str := apiextensionsv1.JSONSchemaProps{Type: "string"}
	crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties = map[string]apiextensionsv1.JSONSchemaProps{
		"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"engine": str, "tier": str, "configRef": str,
		}},
		"status": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"phase":                str,
			"credentialsSecretRef": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"name": str}},
		}},
	}
	return crd
}

func database(name, engine string) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": publishedGroup + "/v1", "kind": "Database",
		"metadata": map[string]any{"name": name, "namespace": "default"},
	}}
	if engine != "" {
		obj.Object["spec"] = map[string]any{"engine": engine}
	}
	return obj
}

// findCopy returns the provider-side copy of a source object, found by its ownership label.
func findCopy(ctx context.Context, t *testing.T, c client.Client, source syncengine.Source) *unstructured.Unstructured {
	t.Helper()
	list := &unstructured.UnstructuredList{}
	list.SetAPIVersion(internalGroup + "/v1beta1")
	list.SetKind("PostgresClusterList")
	if err := c.List(ctx, list, client.MatchingLabels{syncengine.SourceLabel: source.Hash()}); err != nil {
		t.Logf("listing copies: %v", err)
		return nil
	}
	switch len(list.Items) {
	case 0:
		return nil
	case 1:
		return &list.Items[0]
	default:
		t.Fatalf("%d copies of %s; want at most one", len(list.Items), source)
		return nil
	}
}

// waitForCopy waits until the copy of source exists with spec.<field> = value.
func waitForCopy(t *testing.T, c client.Client, source syncengine.Source, field, value string) *unstructured.Unstructured {
	t.Helper()
	var found *unstructured.Unstructured
	framework.WaitFor(t, time.Minute, fmt.Sprintf("copy of %s with spec.%s=%s", source, field, value), func(ctx context.Context) (bool, string, error) {
		found = findCopy(ctx, t, c, source)
		if found == nil {
			return false, "no copy", nil
		}
		got, _, _ := unstructured.NestedString(found.Object, "spec", field)
		return got == value, "spec." + field + "=" + got, nil
	})
	return found
}

// waitForField waits until the consumer's Database has the value at path.
func waitForField(t *testing.T, c client.Client, what, name string, path []string, value string) {
	t.Helper()
	framework.WaitFor(t, time.Minute, what, func(ctx context.Context) (bool, string, error) {
		obj := database(name, "")
		if err := c.Get(ctx, types.NamespacedName{Namespace: "default", Name: name}, obj); err != nil {
			return false, "", err
		}
		got, _, _ := unstructured.NestedString(obj.Object, path...)
		return got == value, got, nil
	})
}
