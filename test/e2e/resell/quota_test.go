package resell

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/test/framework"
)

// quotaResource is what the ResourceQuota of a Consumer's namespace on A counts.
const quotaResource = corev1.ResourceName("count/databases.db.provider.example")

// testQuotaOnAReseller: A caps B1 at 10 Databases in spec.quota of B1's Consumer. C1 orders 11:
// ten reach A, the 11th stops there, and C1 sees why on its own object, two hops away: the
// condition sync.bindery.dev/Placed False, reason QuotaExceeded, and an event of that reason.
// Once C1 deletes one, the 11th is placed and runs.
func testQuotaOnAReseller(t *testing.T, ch *chain) {
	ctx := framework.Context(t)
	framework.WaitFor(t, 2*time.Minute, "B1's namespace on A to be empty", func(ctx context.Context) (bool, string, error) {
		items, err := list(ctx, ch.a.client, providerKind, ch.b1AtA.namespace)
		return len(items) == 0, fmt.Sprintf("%d Databases", len(items)), err
	})
	setQuota(t, ch.a.client, ch.b1AtA.consumer, &bindv1alpha1.ObjectQuota{MaxObjects: 10})
	t.Cleanup(func() { setQuota(t, ch.a.client, ch.b1AtA.consumer, nil) })
	quota := &corev1.ResourceQuota{}
	framework.WaitFor(t, time.Minute, "the backend's ResourceQuota in B1's namespace on A", func(ctx context.Context) (bool, string, error) {
		err := ch.a.client.Get(ctx, client.ObjectKey{Namespace: ch.b1AtA.namespace, Name: bindv1alpha1.QuotaName}, quota)
		hard := quota.Spec.Hard[quotaResource]
		return err == nil && hard.Value() == 10, fmt.Sprintf("hard %v", quota.Spec.Hard), err
	})
	countQuota(t, ch.a.client, ch.b1AtA.namespace)

	if err := ch.c1.client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "quota"}}); err != nil {
		t.Fatal(err)
	}
	var orders []*order
	for i := range 11 {
		orders = append(orders, &order{who: ch.c1, at: ch.c1AtB1, viaB1: true, obj: framework.Database(ch.c1AtB1.kind, "quota", fmt.Sprintf("db-%02d", i))})
	}
	t.Cleanup(func() { ch.deleteAndWait(t, orders...) })
	ch.dumpOnFailure(t)
	for _, o := range orders[:10] {
		framework.CreateWhenServed(t, ch.c1.client, o.obj)
	}
	for _, o := range orders[:10] {
		ch.waitCopyOnA(t, o)
	}
	eleventh := orders[10]
	framework.CreateWhenServed(t, ch.c1.client, eleventh.obj)
	placed := waitPlaced(t, ch.c1.client, eleventh.obj, metav1.ConditionFalse)
	if placed.Reason != syncengine.ReasonQuotaExceeded {
		t.Errorf("the 11th Database at C1 is %s=%s, reason %s (%s); want reason %s", syncengine.PlacedCondition, placed.Status, placed.Reason, placed.Message, syncengine.ReasonQuotaExceeded)
	}
	t.Logf("C1 sees on its 11th Database: %s=False %s: %s", syncengine.PlacedCondition, placed.Reason, placed.Message)
	waitEvent(t, ch.c1.client, eleventh.obj, corev1.EventTypeWarning, syncengine.ReasonQuotaExceeded)
	if items, err := list(ctx, ch.a.client, providerKind, ch.b1AtA.namespace); err != nil || len(items) != 10 {
		t.Fatalf("B1's namespace on A holds %d Databases (%v), want the quota's 10", len(items), err)
	}

	t.Log("C1 deletes one; the 11th is placed")
	ch.deleteAndWait(t, orders[0])
	countQuota(t, ch.a.client, ch.b1AtA.namespace)
	ch.waitCopyOnA(t, eleventh)
	waitReadyWithCredentials(t, ch.c1.client, eleventh.obj)
	if c := placedOf(eleventh.obj); c != nil {
		t.Errorf("the 11th Database runs but still has %s=%s %s", syncengine.PlacedCondition, c.Status, c.Reason)
	}
}

// setQuota sets spec.quota of a Consumer.
func setQuota(t *testing.T, c client.Client, consumer string, quota *bindv1alpha1.ObjectQuota) {
	t.Helper()
	obj := &bindv1alpha1.Consumer{}
	if err := c.Get(framework.Context(t), client.ObjectKey{Name: consumer}, obj); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(obj.DeepCopy())
	obj.Spec.Quota = quota
	if err := c.Patch(framework.Context(t), obj, patch); err != nil {
		t.Fatalf("setting the quota of Consumer %s: %v", consumer, err)
	}
}

// countQuota does for the namespace's ResourceQuotas what kube-controller-manager's resourcequota
// controller does in a real cluster (envtest runs none): status.hard from spec.hard, status.used
// counted. The kube-apiserver's quota admission enforces status.hard and adds each admitted
// create to status.used itself; what only the controller does is to give the room of deleted
// objects back, which the test calls for after deleting.
func countQuota(t *testing.T, c client.Client, namespace string) {
	t.Helper()
	ctx := framework.Context(t)
	var quotas corev1.ResourceQuotaList
	if err := c.List(ctx, &quotas, client.InNamespace(namespace)); err != nil {
		t.Fatal(err)
	}
	items, err := list(ctx, c, providerKind, namespace)
	if err != nil {
		t.Fatal(err)
	}
	for i := range quotas.Items {
		q := &quotas.Items[i]
		q.Status.Hard = q.Spec.Hard
		q.Status.Used = corev1.ResourceList{}
		for name := range q.Spec.Hard {
			if name == quotaResource {
				q.Status.Used[name] = *apiresource.NewQuantity(int64(len(items)), apiresource.DecimalSI)
			}
		}
		if err := c.Status().Update(ctx, q); err != nil {
			t.Fatalf("counting ResourceQuota %s/%s: %v", namespace, q.Name, err)
		}
	}
}

// placedOf returns the object's sync.bindery.dev/Placed condition, or nil.
func placedOf(obj *unstructured.Unstructured) *metav1.Condition {
	raw, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, item := range raw {
		m, _ := item.(map[string]any)
		if m["type"] == syncengine.PlacedCondition {
			c := &metav1.Condition{Type: syncengine.PlacedCondition}
			c.Status = metav1.ConditionStatus(fmt.Sprint(m["status"]))
			c.Reason, _ = m["reason"].(string)
			c.Message, _ = m["message"].(string)
			return c
		}
	}
	return nil
}

// waitPlaced waits until the object has the sync.bindery.dev/Placed condition of the status.
func waitPlaced(t *testing.T, c client.Client, obj *unstructured.Unstructured, status metav1.ConditionStatus) *metav1.Condition {
	t.Helper()
	var cond *metav1.Condition
	framework.WaitFor(t, 2*time.Minute, fmt.Sprintf("%s/%s to be %s=%s", obj.GetNamespace(), obj.GetName(), syncengine.PlacedCondition, status), func(ctx context.Context) (bool, string, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return false, "", err
		}
		cond = placedOf(obj)
		if cond == nil {
			s, _, _ := unstructured.NestedMap(obj.Object, "status")
			return false, fmt.Sprintf("status %v", s), nil
		}
		return cond.Status == status, cond.Reason + ": " + cond.Message, nil
	})
	return cond
}

// waitEvent waits for an event of the type and reason on the object (of a cluster-scoped one in
// any namespace).
func waitEvent(t *testing.T, c client.Client, obj client.Object, eventType, reason string) {
	t.Helper()
	framework.WaitFor(t, time.Minute, fmt.Sprintf("a %s event %s on %s/%s", eventType, reason, obj.GetNamespace(), obj.GetName()), func(ctx context.Context) (bool, string, error) {
		var events corev1.EventList
		if err := c.List(ctx, &events, client.InNamespace(obj.GetNamespace())); err != nil {
			return false, "", err
		}
		var seen []string
		for _, e := range events.Items {
			if e.InvolvedObject.Name != obj.GetName() {
				continue
			}
			if e.Type == eventType && e.Reason == reason {
				return true, "", nil
			}
			seen = append(seen, e.Reason)
		}
		return false, fmt.Sprintf("events %v", seen), nil
	})
}
