package syncagent

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/syncagent"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestTwoAgentsDoNotInterfere runs two agents with different names and selectors against one
// provider cluster, each publishing its own export from its own workspace: each export serves only
// its agent's API, each copy carries only its agent's mark, and each agent's objects sync.
func TestTwoAgentsDoNotInterfere(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	kube := framework.StartKube(t, "deploy/crd")
	providerCluster := framework.NewClient(t, kube.Config())
	redis := syncCRD()
	redis.Name = "redisclusters." + internalGroup
	redis.Spec.Names = apiextensionsv1.CustomResourceDefinitionNames{Plural: "redisclusters", Singular: "rediscluster", Kind: "RedisCluster", ListKind: "RedisClusterList"}
	for _, crd := range []*apiextensionsv1.CustomResourceDefinition{syncCRD(), redis} {
		if err := providerCluster.Create(ctx, crd); err != nil {
			t.Fatal(err)
		}
	}

	type team struct{ name, kind, projected string }
	teams := []team{{"databases", "PostgresCluster", "Database"}, {"caches", "RedisCluster", "Cache"}}
	workspaces := map[string]*framework.Workspace{}
	for _, tm := range teams {
		ws := framework.NewWorkspace(t, tm.name)
		workspaces[tm.name] = ws
		startAgent(t, ws, syncagent.Options{
			ProviderConfig: kube.Config(), EndpointSliceName: tm.name, AgentName: tm.name,
			Selector: labels.SelectorFromSet(labels.Set{"team": tm.name}),
		})
		if err := providerCluster.Create(ctx, &syncagentv1alpha1.PublishedResource{
			ObjectMeta: metav1.ObjectMeta{Name: tm.name, Labels: map[string]string{"team": tm.name}},
			Spec: syncagentv1alpha1.PublishedResourceSpec{
				Resource:   syncagentv1alpha1.SourceResource{APIGroup: internalGroup, Kind: tm.kind},
				Projection: &syncagentv1alpha1.Projection{Group: publishedGroup, Kind: tm.projected, Versions: map[string]string{"v1beta1": "v1"}},
			},
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tm := range teams {
		waitForCondition(t, providerCluster, tm.name, syncagentv1alpha1.ConditionSynced, metav1.ConditionTrue, "SyncRunning", "")
		export := &apisv1alpha2.APIExport{}
		if err := workspaces[tm.name].Client.Get(ctx, client.ObjectKey{Name: tm.name}, export); err != nil {
			t.Fatal(err)
		}
		if len(export.Spec.Resources) != 1 || export.Spec.Resources[0].Name != fmt.Sprintf("%ss", lower(tm.projected)) {
			t.Fatalf("APIExport %s serves %+v, want only %ss", tm.name, export.Spec.Resources, lower(tm.projected))
		}
	}

	consumer := framework.NewWorkspace(t, "consumer")
	for _, tm := range teams {
		framework.Bind(t, consumer, workspaces[tm.name].Path, tm.name,
			framework.Claim("", "events", "create", "patch", "update"),
			framework.Claim("", "namespaces", "create", "get", "list", "watch"))
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": publishedGroup + "/v1", "kind": tm.projected,
			"metadata": map[string]any{"name": "shared-name", "namespace": "default"},
			"spec":     map[string]any{"engine": tm.name},
		}}
		framework.CreateWhenServed(t, consumer.Client, obj)
	}
	for _, tm := range teams {
		framework.WaitFor(t, time.Minute, "the copy of the "+tm.projected, func(ctx context.Context) (bool, string, error) {
			list := &unstructured.UnstructuredList{}
			list.SetAPIVersion(internalGroup + "/v1beta1")
			list.SetKind(tm.kind + "List")
			if err := providerCluster.List(ctx, list, client.HasLabels{syncengine.AgentLabel}); err != nil {
				return false, "", err
			}
			if len(list.Items) != 1 {
				return false, fmt.Sprintf("%d copies", len(list.Items)), nil
			}
			owner, ok := syncengine.OwnerOf(&list.Items[0])
			engine, _, _ := unstructured.NestedString(list.Items[0].Object, "spec", "engine")
			return ok && owner.Agent == tm.name && engine == tm.name, fmt.Sprintf("owner %+v, engine %q", owner, engine), nil
		})
	}
}

func lower(s string) string { return strings.ToLower(s) }
