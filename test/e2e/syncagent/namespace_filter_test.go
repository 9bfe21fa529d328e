package syncagent

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/syncagent"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestNamespaceFilterFollowsNamespaceLabels: with spec.filter.namespace, an object in a namespace
// that does not match is not synced; labelling its namespace alone syncs it, and removing the
// label again releases it (the copy is deleted, the finalizer removed, the consumer's object
// stays).
func TestNamespaceFilterFollowsNamespaceLabels(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	kube, providerCluster, provider := newProviderSide(t)
	startAgent(t, provider, syncagent.Options{ProviderConfig: kube.Config(), EndpointSliceName: exportName, AgentName: "nsfilter"})
	pr := databasesPR()
	pr.Spec.Filter = &syncagentv1alpha1.Filter{Namespace: &metav1.LabelSelector{MatchLabels: map[string]string{enabledLabel: "true"}}}
	if err := providerCluster.Create(ctx, pr); err != nil {
		t.Fatal(err)
	}
	waitForCondition(t, providerCluster, "databases", syncagentv1alpha1.ConditionSynced, metav1.ConditionTrue, "SyncRunning", "")

	consumer := framework.NewWorkspace(t, "consumer")
	framework.Bind(t, consumer, provider.Path, exportName,
		framework.Claim("", "events", "create", "patch", "update"),
		framework.Claim("", "namespaces", "create", "get", "list", "watch"))
	for name, labels := range map[string]map[string]string{"shop": nil, "enabled": {enabledLabel: "true"}} {
		if err := consumer.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}); err != nil {
			t.Fatal(err)
		}
	}
	orders := syncengine.Source{Cluster: consumer.Cluster.String(), Namespace: "shop", Name: "orders"}
	control := syncengine.Source{Cluster: consumer.Cluster.String(), Namespace: "enabled", Name: "control"}
	framework.CreateWhenServed(t, consumer.Client, databaseIn(orders.Namespace, orders.Name))
	framework.CreateWhenServed(t, consumer.Client, databaseIn(control.Namespace, control.Name))

	t.Log("an object in a namespace that does not match is not synced")
	// The object in the matching namespace, created after it, is synced: by then the agent has
	// seen the other one too.
	waitForCopy(t, providerCluster, control, "engine", "postgres")
	if findCopy(ctx, t, providerCluster, orders) != nil {
		t.Fatal("the Database in the unlabelled namespace was synced")
	}
	if obj := getDatabase(ctx, t, consumer.Client, orders); slices.Contains(obj.GetFinalizers(), syncengine.Finalizer) {
		t.Fatalf("the Database in the unlabelled namespace has the finalizer: %v", obj.GetFinalizers())
	}

	t.Log("labelling the namespace syncs its objects")
	setNamespaceLabel(t, consumer.Client, orders.Namespace, "true")
	waitForCopy(t, providerCluster, orders, "engine", "postgres")
	waitForFinalizer(t, consumer.Client, orders, true)

	t.Log("removing the label releases the objects: the copy is deleted, the finalizer removed")
	setNamespaceLabel(t, consumer.Client, orders.Namespace, "")
	framework.WaitFor(t, time.Minute, "the copy of shop/orders to be gone and the finalizer removed", func(ctx context.Context) (bool, string, error) {
		if c := findCopy(ctx, t, providerCluster, orders); c != nil {
			return false, "copy still there", nil
		}
		obj := databaseIn(orders.Namespace, orders.Name)
		if err := consumer.Client.Get(ctx, client.ObjectKey{Namespace: orders.Namespace, Name: orders.Name}, obj); err != nil {
			return false, "", err // the consumer's object must stay
		}
		return !slices.Contains(obj.GetFinalizers(), syncengine.Finalizer), fmt.Sprintf("finalizers %v", obj.GetFinalizers()), nil
	})
	if c := findCopy(ctx, t, providerCluster, control); c == nil {
		t.Fatal("the copy of enabled/control is gone; its namespace did not change")
	}
}

// enabledLabel is the namespace label the test's filter selects.
const enabledLabel = "databases.example.com/enabled"

func databaseIn(namespace, name string) *unstructured.Unstructured {
	obj := database(name, "postgres")
	obj.SetNamespace(namespace)
	return obj
}

func getDatabase(ctx context.Context, t *testing.T, c client.Client, source syncengine.Source) *unstructured.Unstructured {
	t.Helper()
	obj := databaseIn(source.Namespace, source.Name)
	if err := c.Get(ctx, client.ObjectKey{Namespace: source.Namespace, Name: source.Name}, obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

// setNamespaceLabel sets the filter's label on a consumer namespace, or removes it (value "").
func setNamespaceLabel(t *testing.T, c client.Client, name, value string) {
	t.Helper()
	ns := &corev1.Namespace{}
	if err := c.Get(framework.Context(t), client.ObjectKey{Name: name}, ns); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(ns.DeepCopy())
	if value == "" {
		delete(ns.Labels, enabledLabel)
	} else {
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		ns.Labels[enabledLabel] = value
	}
	if err := c.Patch(framework.Context(t), ns, patch); err != nil {
		t.Fatal(err)
	}
}

// waitForFinalizer waits until the consumer's Database carries the sync finalizer, or not.
func waitForFinalizer(t *testing.T, c client.Client, source syncengine.Source, want bool) {
	t.Helper()
	framework.WaitFor(t, time.Minute, fmt.Sprintf("Database %s/%s with finalizer %s: %v", source.Namespace, source.Name, syncengine.Finalizer, want), func(ctx context.Context) (bool, string, error) {
		obj := databaseIn(source.Namespace, source.Name)
		if err := c.Get(ctx, client.ObjectKey{Namespace: source.Namespace, Name: source.Name}, obj); err != nil {
			return false, "", err
		}
		return slices.Contains(obj.GetFinalizers(), syncengine.Finalizer) == want, fmt.Sprintf("finalizers %v", obj.GetFinalizers()), nil
	})
}
