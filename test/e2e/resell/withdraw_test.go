package resell

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/test/framework"
)

// testServiceWithdrawn: B1 withdraws the Service C1 and C2 bound (deletes it at B1). The stop is
// clean: C1's and C2's ServiceBindings say ServiceWithdrawn, their konnectors stop syncing (no
// loop of Forbidden errors against the Role that lost the resources), their Databases stay in
// their clusters, released, and nothing is deleted at B1 or on A, where A's operator keeps
// running them; B2 keeps ordering from A. When B1 offers the Service again, both bindings are
// Ready again and their Databases are taken back: deleting them goes through both hops. It runs
// last: the Service is gone for all of B1's consumers meanwhile.
func testServiceWithdrawn(t *testing.T, ch *chain) {
	ctx := framework.Context(t)
	orders := []*order{{who: ch.c1, at: ch.c1AtB1, viaB1: true}, {who: ch.c2, at: ch.c2AtB1, viaB1: true}, {who: ch.b2, at: ch.b2AtA}}
	for _, o := range orders {
		o.obj = framework.Database(o.at.kind, "shop", "withdrawn")
		framework.CreateWhenServed(t, o.who.client, o.obj)
	}
	ch.dumpOnFailure(t)
	for _, o := range orders {
		waitReadyWithCredentials(t, o.who.client, o.obj)
	}
	// What must survive the withdrawal, by UID: every copy on B1 and on A.
	type kept struct {
		what string
		c    client.Client
		obj  *unstructured.Unstructured
		uid  types.UID
	}
	var survivors []kept
	for _, o := range orders {
		survivors = append(survivors, kept{o.who.name + "'s Database", o.who.client, o.obj, o.obj.GetUID()})
		if o.viaB1 {
			onB1 := ch.copyOnB1(t, o)
			survivors = append(survivors, kept{o.who.name + "'s copy on B1", ch.b1.client, onB1, onB1.GetUID()})
		}
		onA := ch.copyOnA(t, o)
		survivors = append(survivors, kept{o.who.name + "'s copy on A", ch.a.client, onA, onA.GetUID()})
	}
	allKept := func(ctx context.Context) (bool, string, error) {
		for _, s := range survivors {
			got := s.obj.DeepCopy()
			if err := s.c.Get(ctx, client.ObjectKeyFromObject(s.obj), got); err != nil {
				if apierrors.IsNotFound(err) {
					return false, s.what + " is gone", nil
				}
				return false, "", err
			}
			if got.GetUID() != s.uid || got.GetDeletionTimestamp() != nil {
				return false, fmt.Sprintf("%s: uid %s (was %s), deleting %v", s.what, got.GetUID(), s.uid, got.GetDeletionTimestamp() != nil), nil
			}
		}
		return true, "", nil
	}

	service := &bindv1alpha1.Service{}
	if err := ch.b1.client.Get(ctx, client.ObjectKey{Name: serviceOfB1}, service); err != nil {
		t.Fatal(err)
	}
	spec := service.Spec
	// Should the test stop half way, B1 offers the Service again, so that the orders can go.
	t.Cleanup(func() { reoffer(t, ch, spec) })

	t.Logf("B1 withdraws Service %s", serviceOfB1)
	withdrawnAt := time.Now()
	if err := ch.b1.client.Delete(ctx, service); err != nil {
		t.Fatal(err)
	}
	for _, o := range orders[:2] {
		waitWithdrawn(t, o.who.client, o.at.object)
	}
	t.Logf("both ServiceBindings at C1 and C2 say %s %s after the deletion", bindv1alpha1.BindingReasonServiceWithdrawn, time.Since(withdrawnAt).Round(time.Second))
	ready := meta.FindStatusCondition(ch.c1AtB1.object.Status.Conditions, bindv1alpha1.BindingConditionReady)
	t.Logf("C1 sees: Ready=%s %s: %s", ready.Status, ready.Reason, ready.Message)
	if !strings.Contains(ready.Message, serviceOfB1) {
		t.Errorf("C1's Ready message does not name the Service %s: %s", serviceOfB1, ready.Message)
	}
	for _, o := range orders[:2] {
		waitReleased(t, o.who.client, o.obj)
		waitEvent(t, o.who.client, o.at.object, corev1.EventTypeWarning, bindv1alpha1.BindingReasonServiceWithdrawn)
	}

	t.Log("the stop holds: no retries against the provider, nothing deleted anywhere")
	forbidden := forbiddenErrors(ch.c1)
	framework.HoldsFor(t, 20*time.Second, "the withdrawal, quietly", func(ctx context.Context) (bool, string, error) {
		if ok, detail, err := allKept(ctx); !ok || err != nil {
			return ok, detail, err
		}
		if n := forbiddenErrors(ch.c1); n > forbidden {
			return false, fmt.Sprintf("C1's konnector logged %d more Forbidden errors", n-forbidden), nil
		}
		b := &bindv1alpha1.ServiceBinding{}
		if err := ch.c1.client.Get(ctx, client.ObjectKeyFromObject(ch.c1AtB1.object), b); err != nil {
			return false, "", err
		}
		r := meta.FindStatusCondition(b.Status.Conditions, bindv1alpha1.BindingConditionReady)
		return r != nil && r.Reason == bindv1alpha1.BindingReasonServiceWithdrawn, fmt.Sprintf("C1's binding is Ready=%v", r), nil
	})
	t.Logf("C1's konnector logged %d Forbidden errors in all, none in the 20 s after the binding said %s", forbidden, bindv1alpha1.BindingReasonServiceWithdrawn)
	for _, o := range orders {
		onA := ch.copyOnA(t, o)
		if phase, _, _ := unstructured.NestedString(onA.Object, "status", "phase"); phase != "Ready" {
			t.Errorf("%s's copy on A is %q, want A's operator to keep it Ready", o.who.name, phase)
		}
	}

	t.Log("B2 still orders from A")
	after := &order{who: ch.b2, at: ch.b2AtA, obj: framework.Database(ch.b2AtA.kind, "shop", "after-withdrawal")}
	framework.CreateWhenServed(t, ch.b2.client, after.obj)
	waitReadyWithCredentials(t, ch.b2.client, after.obj)
	orders = append(orders, after)

	t.Log("B1 offers the Service again: the bindings are Ready again and take their Databases back")
	reoffer(t, ch, spec)
	for _, o := range orders[:2] {
		framework.WaitBindingReady(t, o.who.client, o.at.object)
	}
	if ok, detail, err := allKept(ctx); !ok || err != nil {
		t.Fatalf("after the Service came back: %s %v", detail, err)
	}
	ch.deleteAndWait(t, orders...)
}

// reoffer creates the Service at B1 again, unless it is there, and waits until it is Ready.
func reoffer(t *testing.T, ch *chain, spec bindv1alpha1.ServiceSpec) {
	t.Helper()
	svc := &bindv1alpha1.Service{ObjectMeta: metav1.ObjectMeta{Name: serviceOfB1}, Spec: spec}
	if err := ch.b1.client.Create(framework.Context(t), svc); client.IgnoreAlreadyExists(err) != nil {
		t.Fatalf("offering %s again: %v", serviceOfB1, err)
	}
	waitServiceReady(t, ch.b1.client, serviceOfB1)
}

// waitWithdrawn waits until the binding's Ready condition says ServiceWithdrawn.
func waitWithdrawn(t *testing.T, c client.Client, b *bindv1alpha1.ServiceBinding) {
	t.Helper()
	framework.WaitFor(t, 2*time.Minute, "ServiceBinding "+b.Name+" to say "+bindv1alpha1.BindingReasonServiceWithdrawn, func(ctx context.Context) (bool, string, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(b), b); err != nil {
			return false, "", err
		}
		var seen []string
		for _, cond := range b.Status.Conditions {
			seen = append(seen, fmt.Sprintf("%s=%s %s: %s", cond.Type, cond.Status, cond.Reason, cond.Message))
		}
		ready := meta.FindStatusCondition(b.Status.Conditions, bindv1alpha1.BindingConditionReady)
		return ready != nil && ready.Status == metav1.ConditionFalse && ready.Reason == bindv1alpha1.BindingReasonServiceWithdrawn, strings.Join(seen, "; "), nil
	})
}

// waitReleased waits until the konnector has released the object: the engine's finalizer is
// gone, the object is not.
func waitReleased(t *testing.T, c client.Client, obj *unstructured.Unstructured) {
	t.Helper()
	framework.WaitFor(t, time.Minute, fmt.Sprintf("%s/%s to be released", obj.GetNamespace(), obj.GetName()), func(ctx context.Context) (bool, string, error) {
		got := obj.DeepCopy()
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), got); err != nil {
			return false, "", err
		}
		return !slices.Contains(got.GetFinalizers(), syncengine.Finalizer), fmt.Sprintf("finalizers %v", got.GetFinalizers()), nil
	})
}

// forbiddenErrors counts the error lines of the cluster's konnector that the provider answered
// Forbidden.
func forbiddenErrors(c *cluster) int {
	n := 0
	for _, line := range strings.Split(c.konnector.LogTail(1<<30), "\n") {
		if strings.Contains(line, `"level":"error"`) && strings.Contains(strings.ToLower(line), "forbidden") {
			n++
		}
	}
	return n
}
