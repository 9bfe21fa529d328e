package workspacebackend

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kcp-dev/logicalcluster/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	catalogv1alpha1 "github.com/bindery-dev/bindery/apis/catalog/v1alpha1"
	inventoryv1alpha1 "github.com/bindery-dev/bindery/apis/inventory/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/catalog"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/test/framework"
)

// startCatalog lists the provider's export in the catalog and runs bindery-manager with a catalog
// of its own until the test ends, so that the provider gets its inventory.
func startCatalog(t *testing.T, c *chain) logicalcluster.Path {
	t.Helper()
	framework.ListExport(t, c.exporter, "databases", "Databases")
	catalogPath := logicalcluster.NewPath("root").Join(framework.UniqueName("catalog"))
	framework.RunManager(t, catalogPath, nil)
	return catalogPath
}

// checkIdentities checks who sees whom along the chain, for alice's Database orders (in her
// cluster, in shop) and its object in the workspace: each party sees its neighbour and no further.
//
//   - The provider's inventory lists the team workspace as the one consumer of its export (path,
//     logical cluster, Ready), and the catalog counts it; nothing in it names alice, her Consumer
//     or her cluster.
//   - The provider's copy traces to the team workspace (its source-cluster mark) and to the
//     object there, but nothing on it names alice or her cluster.
//   - The workspace's object is in the namespace of alice's Consumer, which names alice and her
//     cluster's identity, and its marks name the object in her cluster: the workspace sees which
//     cluster created it. Nothing on it names the provider's copy or the provider's own API group.
//   - In alice's cluster, neither the Database nor its credentials Secret names the provider's copy
//     or the provider's API group.
//
// "Names" means what bindery writes (marks): where it placed a copy (name and namespace), its
// labels and annotations (the bindery.dev families), finalizers and owner references. Status, and
// a related object's name and the provider's own labels on it, are the provider's answer and travel
// on as the PublishedResources say.
func checkIdentities(t *testing.T, c *chain, team *teamCluster, catalogPath logicalcluster.Path, orders *unstructured.Unstructured) {
	t.Helper()
	ctx := framework.Context(t)
	clusterID := framework.ClusterID(t, team.client)
	var consumer bindv1alpha1.Consumer
	if err := c.team.Client.Get(ctx, client.ObjectKey{Name: team.consumer}, &consumer); err != nil {
		t.Fatal(err)
	}
	teamSide := []string{alice.Name, clusterID}

	t.Log("the provider's inventory shows the team workspace, and nothing of the team's clusters")
	var inventory inventoryv1alpha1.ExportInventory
	framework.WaitFor(t, 2*time.Minute, "the inventory of databases to list "+c.team.Path.String(), func(ctx context.Context) (bool, string, error) {
		if err := c.exporter.Client.Get(ctx, client.ObjectKey{Name: "databases"}, &inventory); err != nil {
			return false, "", err
		}
		ok := len(inventory.Consumers) == 1 && inventory.Consumers[0].Path == c.team.Path.String() &&
			inventory.Consumers[0].Cluster == c.team.Cluster.String() && inventory.Consumers[0].Ready &&
			inventory.Summary.Consumers == 1 && inventory.Summary.Ready == 1
		return ok, fmt.Sprintf("%+v (summary %+v)", inventory.Consumers, inventory.Summary), nil
	})
	noneOf(t, "the provider's inventory", jsonText(t, inventory), teamSide...)
	catalogClient := framework.NewClient(t, framework.KCP(t).ClusterConfig(catalogPath.String()))
	framework.WaitFor(t, time.Minute, "the catalog to count the team workspace", func(ctx context.Context) (bool, string, error) {
		entry := &catalogv1alpha1.CatalogEntry{}
		if err := catalogClient.Get(ctx, client.ObjectKey{Name: catalog.EntryName(c.exporter.Cluster.String(), "databases")}, entry); err != nil {
			return false, "", err
		}
		return entry.Status.Consumers == 1, fmt.Sprintf("%d consumers", entry.Status.Consumers), nil
	})

	t.Log("the provider's copy traces to the team workspace, and nothing on it names alice or her cluster")
	inWorkspace := theOne(t, "the Database in alice's Consumer namespace", c.team.Client, c, team.namespace)
	copies, err := list(ctx, c.provider, providerKind, "")
	if err != nil || len(copies) != 1 {
		t.Fatalf("the provider cluster holds %d copies (%v), want one", len(copies), err)
	}
	onProvider := copies[0]
	if a := onProvider.GetAnnotations(); a[syncengine.SourceClusterAnnotation] != c.team.Cluster.String() ||
		a[syncengine.SourceNamespaceAnnotation] != inWorkspace.GetNamespace() || a[syncengine.SourceNameAnnotation] != inWorkspace.GetName() {
		t.Errorf("the provider's copy %s/%s is marked as the copy of %s/%s/%s, want %s/%s/%s", onProvider.GetNamespace(), onProvider.GetName(),
			a[syncengine.SourceClusterAnnotation], a[syncengine.SourceNamespaceAnnotation], a[syncengine.SourceNameAnnotation],
			c.team.Cluster, inWorkspace.GetNamespace(), inWorkspace.GetName())
	}
	noneOf(t, "the provider's copy", marks(&onProvider, true), teamSide...)

	t.Log("the workspace sees which cluster created the object, and not where the provider keeps its copy")
	if consumer.Status.Namespace != inWorkspace.GetNamespace() || consumer.Spec.Identity.Username != alice.Username() || consumer.Spec.Cluster.ID != clusterID ||
		!meta.IsStatusConditionTrue(consumer.Status.Conditions, bindv1alpha1.ConsumerConditionReady) {
		t.Errorf("Consumer %s: user %q, cluster %q, namespace %q, conditions %+v; want alice's, Ready, cluster %s, owning %s",
			consumer.Name, consumer.Spec.Identity.Username, consumer.Spec.Cluster.ID, consumer.Status.Namespace, consumer.Status.Conditions, clusterID, inWorkspace.GetNamespace())
	}
	if a := inWorkspace.GetAnnotations(); a[syncengine.SourceNamespaceAnnotation] != orders.GetNamespace() || a[syncengine.SourceNameAnnotation] != orders.GetName() {
		t.Errorf("the workspace's object %s/%s is marked as the copy of %s/%s, want %s/%s", inWorkspace.GetNamespace(), inWorkspace.GetName(),
			a[syncengine.SourceNamespaceAnnotation], a[syncengine.SourceNameAnnotation], orders.GetNamespace(), orders.GetName())
	}
	providerSide := []string{onProvider.GetName(), providerKind.Group}
	noneOf(t, "the workspace's object", marks(&inWorkspace, true), providerSide...)

	t.Log("alice's cluster sees neither the provider's copy nor the provider's API")
	if err := team.client.Get(ctx, client.ObjectKeyFromObject(orders), orders); err != nil {
		t.Fatal(err)
	}
	noneOf(t, "the Database in alice's cluster", marks(orders, true), providerSide...)
	secretName, _, _ := unstructured.NestedString(orders.Object, "status", "credentialsSecretRef", "name")
	var secret corev1.Secret
	if err := team.client.Get(ctx, client.ObjectKey{Namespace: orders.GetNamespace(), Name: secretName}, &secret); err != nil {
		t.Fatal(err)
	}
	noneOf(t, "the credentials Secret in alice's cluster", marks(&secret, false), providerSide...)
}

// theOne returns the one object of the chain's kind in namespace.
func theOne(t *testing.T, what string, c client.Client, ch *chain, namespace string) unstructured.Unstructured {
	t.Helper()
	items, err := list(framework.Context(t), c, ch.kind, namespace)
	if err != nil || len(items) != 1 {
		t.Fatalf("%s: %d objects (%v), want one", what, len(items), err)
	}
	return items[0]
}

// marks is the text of what bindery writes on an object to say where it comes from and where it
// belongs: with placed, its name and namespace (bindery chose them for a copy); its bindery.dev
// labels and annotations, finalizers and owner references.
func marks(obj client.Object, placed bool) []string {
	var texts []string
	if placed {
		texts = append(texts, obj.GetName(), obj.GetNamespace())
	}
	for _, m := range []map[string]string{obj.GetLabels(), obj.GetAnnotations()} {
		for k, v := range m {
			if strings.Contains(k, "bindery.dev") {
				texts = append(texts, k, v)
			}
		}
	}
	texts = append(texts, obj.GetFinalizers()...)
	for _, ref := range obj.GetOwnerReferences() {
		texts = append(texts, ref.APIVersion, ref.Kind, ref.Name)
	}
	return texts
}

func jsonText(t *testing.T, v any) []string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return []string{string(data)}
}

// noneOf fails the test for each of texts that contains one of the names.
func noneOf(t *testing.T, what string, texts []string, names ...string) {
	t.Helper()
	for _, text := range texts {
		for _, name := range names {
			if name != "" && strings.Contains(text, name) {
				t.Errorf("%s names %q, which is not its neighbour's to show: %q", what, name, text)
			}
		}
	}
}
