package syncagent

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/syncagent"
	"github.com/bindery-dev/bindery/test/framework"
)

const (
	internalGroup  = "internal.dbs.example.com"
	publishedGroup = "databases.example.com"
	exportName     = "databases"
)

// TestPublishWithProjection publishes a provider CRD under a projected group, version and kind,
// binds it from a consumer workspace, changes the CRD and checks that a new schema replaces the old
// one in the export; then it adds broken PublishedResources and checks they report why while the
// good one keeps working.
func TestPublishWithProjection(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	kube := framework.StartKube(t, "deploy/crd")
	providerCluster := framework.NewClient(t, kube.Config())
	crd := postgresCRD()
	if err := providerCluster.Create(ctx, crd); err != nil {
		t.Fatalf("creating the provider CRD: %v", err)
	}
	provider := framework.NewWorkspace(t, "provider")
	startAgent(t, provider, syncagent.Options{ProviderConfig: kube.Config(), EndpointSliceName: exportName, AgentName: "dbs"})

	pr := &syncagentv1alpha1.PublishedResource{
		ObjectMeta: metav1.ObjectMeta{Name: "databases"},
		Spec: syncagentv1alpha1.PublishedResourceSpec{
			Resource: syncagentv1alpha1.SourceResource{APIGroup: internalGroup, Kind: "PostgresCluster"},
			Projection: &syncagentv1alpha1.Projection{
				Group: publishedGroup, Kind: "Database", Versions: map[string]string{"v1beta1": "v1"},
			},
		},
	}
	if err := providerCluster.Create(ctx, pr); err != nil {
		t.Fatalf("creating the PublishedResource: %v", err)
	}
	firstSchema := waitForCondition(t, providerCluster, "databases", syncagentv1alpha1.ConditionReady, metav1.ConditionTrue, "Published", "")
	if pr := get(t, providerCluster, "databases"); pr.Status.Projected != "Database."+publishedGroup || pr.Status.Source != "PostgresCluster."+internalGroup {
		t.Fatalf("status source/projected = %q/%q", pr.Status.Source, pr.Status.Projected)
	}
	waitForExportSchemas(t, provider, firstSchema)

	t.Log("a consumer binds the export and uses the projected API")
	consumer := framework.NewWorkspace(t, "consumer")
	framework.Bind(t, consumer, provider.Path, exportName,
		framework.Claim("", "events", "create", "patch", "update"),
		framework.Claim("", "namespaces", "create", "get", "list", "watch"))
	db := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": publishedGroup + "/v1", "kind": "Database",
		"metadata": map[string]any{"name": "orders", "namespace": "default"},
		"spec":     map[string]any{"engine": "postgres"},
	}}
	framework.CreateWhenServed(t, consumer.Client, db)

	t.Log("a changed CRD yields a new schema, which replaces the old one in the export")
	if err := providerCluster.Get(ctx, client.ObjectKeyFromObject(crd), crd); err != nil {
		t.Fatal(err)
	}
	crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["replicas"] = apiextensionsv1.JSONSchemaProps{Type: "integer"}
	if err := providerCluster.Update(ctx, crd); err != nil {
		t.Fatalf("changing the CRD: %v", err)
	}
	var secondSchema string
	framework.WaitFor(t, time.Minute, "a new schema after the CRD changed", func(ctx context.Context) (bool, string, error) {
		pr := get(t, providerCluster, "databases")
		secondSchema = pr.Status.ResourceSchemaName
		return secondSchema != firstSchema && isTrue(pr, syncagentv1alpha1.ConditionReady), "schema " + secondSchema, nil
	})
	waitForExportSchemas(t, provider, secondSchema)

	t.Log("broken PublishedResources report why; the good one keeps working")
	badTemplate := &syncagentv1alpha1.PublishedResource{
		ObjectMeta: metav1.ObjectMeta{Name: "bad-template"},
		Spec: syncagentv1alpha1.PublishedResourceSpec{
			Resource:   syncagentv1alpha1.SourceResource{APIGroup: internalGroup, Kind: "PostgresCluster"},
			Projection: &syncagentv1alpha1.Projection{Group: "other.example.com"},
			Naming:     &syncagentv1alpha1.Naming{Name: "{{ .Object.metadata.name"},
		},
	}
	missingCRD := &syncagentv1alpha1.PublishedResource{
		ObjectMeta: metav1.ObjectMeta{Name: "missing-crd"},
		Spec: syncagentv1alpha1.PublishedResourceSpec{
			Resource: syncagentv1alpha1.SourceResource{APIGroup: internalGroup, Kind: "RedisCluster"},
		},
	}
	for _, bad := range []*syncagentv1alpha1.PublishedResource{badTemplate, missingCRD} {
		if err := providerCluster.Create(ctx, bad); err != nil {
			t.Fatalf("creating PublishedResource %s: %v", bad.Name, err)
		}
	}
	waitForCondition(t, providerCluster, "bad-template", syncagentv1alpha1.ConditionReady, metav1.ConditionFalse, "InvalidSpec", "spec.naming.name")
	waitForCondition(t, providerCluster, "missing-crd", syncagentv1alpha1.ConditionReady, metav1.ConditionFalse, "CRDNotFound", "RedisCluster")
	if !isTrue(get(t, providerCluster, "databases"), syncagentv1alpha1.ConditionReady) {
		t.Fatal("the good PublishedResource lost its Ready condition")
	}
	waitForExportSchemas(t, provider, secondSchema)
	framework.CreateWhenServed(t, consumer.Client, withName(db, "invoices"))
}

// postgresCRD is the provider's internal CRD.
func postgresCRD() *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "postgresclusters." + internalGroup},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: internalGroup,
			Names: apiextensionsv1.CustomResourceDefinitionNames{
				Plural: "postgresclusters", Singular: "postgrescluster", Kind: "PostgresCluster", ListKind: "PostgresClusterList",
			},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1beta1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"engine": {Type: "string"}}},
					},
				}},
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
			}},
		},
	}
}

func get(t *testing.T, c client.Client, name string) *syncagentv1alpha1.PublishedResource {
	t.Helper()
	pr := &syncagentv1alpha1.PublishedResource{}
	if err := c.Get(framework.Context(t), client.ObjectKey{Name: name}, pr); err != nil {
		t.Fatalf("reading PublishedResource %s: %v", name, err)
	}
	return pr
}

func isTrue(pr *syncagentv1alpha1.PublishedResource, conditionType string) bool {
	return meta.IsStatusConditionTrue(pr.Status.Conditions, conditionType)
}

// waitForCondition waits until the condition has the status and reason and its message contains
// the given text; it returns the PublishedResource's schema name.
func waitForCondition(t *testing.T, c client.Client, name, conditionType string, status metav1.ConditionStatus, reason, inMessage string) string {
	t.Helper()
	var schema string
	framework.WaitFor(t, time.Minute, fmt.Sprintf("PublishedResource %s: %s=%s (%s)", name, conditionType, status, reason), func(ctx context.Context) (bool, string, error) {
		pr := &syncagentv1alpha1.PublishedResource{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, pr); err != nil {
			return false, "", err
		}
		cond := meta.FindStatusCondition(pr.Status.Conditions, conditionType)
		if cond == nil {
			return false, "no condition", nil
		}
		schema = pr.Status.ResourceSchemaName
		return cond.Status == status && cond.Reason == reason && strings.Contains(cond.Message, inMessage) && cond.ObservedGeneration == pr.Generation,
			fmt.Sprintf("%s %s: %s", cond.Status, cond.Reason, cond.Message), nil
	})
	return schema
}

// waitForExportSchemas waits until the APIExport serves exactly the given schemas.
func waitForExportSchemas(t *testing.T, provider *framework.Workspace, schemas ...string) {
	t.Helper()
	framework.WaitFor(t, time.Minute, fmt.Sprintf("APIExport %s to serve %v", exportName, schemas), func(ctx context.Context) (bool, string, error) {
		export := &apisv1alpha2.APIExport{}
		if err := provider.Client.Get(ctx, client.ObjectKey{Name: exportName}, export); err != nil {
			return false, "", err
		}
		var got []string
		for _, r := range export.Spec.Resources {
			got = append(got, r.Schema)
		}
		return strings.Join(got, ",") == strings.Join(schemas, ","), fmt.Sprintf("%v", got), nil
	})
}

func withName(obj *unstructured.Unstructured, name string) *unstructured.Unstructured {
	copied := obj.DeepCopy()
	copied.SetName(name)
	copied.SetResourceVersion("")
	return copied
}
