package resell

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/test/framework"
)

// findCopy returns the one object of kind in namespace whose ownership marks name of as their
// source; an error when there is none, or more than one.
func findCopy(ctx context.Context, c client.Client, kind schema.GroupVersionKind, namespace string, of metav1.Object) (*unstructured.Unstructured, error) {
	items, err := list(ctx, c, kind, namespace)
	if err != nil {
		return nil, err
	}
	var found []*unstructured.Unstructured
	for i := range items {
		a := items[i].GetAnnotations()
		if a[syncengine.SourceNamespaceAnnotation] == of.GetNamespace() && a[syncengine.SourceNameAnnotation] == of.GetName() {
			found = append(found, &items[i])
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("%d copies of %s/%s in namespace %s, want one", len(found), of.GetNamespace(), of.GetName(), namespace)
	}
	return found[0], nil
}

// findCopyOnB1 finds the copy of a C1 or C2 order in its Consumer namespace at B1, where it has
// the kind B1 received from A.
func (ch *chain) findCopyOnB1(ctx context.Context, o *order) (*unstructured.Unstructured, error) {
	return findCopy(ctx, ch.b1.client, ch.b1AtA.kind, o.at.namespace, o.obj)
}

// findCopyOnA finds an order's copy on A: in B1's namespace, made from the copy on B1, for C1's
// and C2's orders; in B2's for B2's.
func (ch *chain) findCopyOnA(ctx context.Context, o *order) (*unstructured.Unstructured, error) {
	if !o.viaB1 {
		return findCopy(ctx, ch.a.client, providerKind, o.at.namespace, o.obj)
	}
	onB1, err := ch.findCopyOnB1(ctx, o)
	if err != nil {
		return nil, err
	}
	return findCopy(ctx, ch.a.client, providerKind, ch.b1AtA.namespace, onB1)
}

func (ch *chain) copyOnB1(t *testing.T, o *order) *unstructured.Unstructured {
	t.Helper()
	c, err := ch.findCopyOnB1(framework.Context(t), o)
	if err != nil {
		t.Fatalf("%s's copy on B1: %v", o.who.name, err)
	}
	return c
}

func (ch *chain) copyOnA(t *testing.T, o *order) *unstructured.Unstructured {
	t.Helper()
	c, err := ch.findCopyOnA(framework.Context(t), o)
	if err != nil {
		t.Fatalf("%s's copy on A: %v", o.who.name, err)
	}
	return c
}

func (ch *chain) waitCopyOnB1(t *testing.T, o *order) *unstructured.Unstructured {
	t.Helper()
	var c *unstructured.Unstructured
	framework.WaitFor(t, time.Minute, o.who.name+"'s copy on B1", func(ctx context.Context) (bool, string, error) {
		var err error
		c, err = ch.findCopyOnB1(ctx, o)
		return err == nil, errString(err), nil
	})
	return c
}

func (ch *chain) waitCopyOnA(t *testing.T, o *order) *unstructured.Unstructured {
	t.Helper()
	var c *unstructured.Unstructured
	framework.WaitFor(t, 2*time.Minute, o.who.name+"'s copy on A", func(ctx context.Context) (bool, string, error) {
		var err error
		c, err = ch.findCopyOnA(ctx, o)
		return err == nil, errString(err), nil
	})
	return c
}

// waitReadyWithCredentials waits until the operator's status reached obj (phase Ready, a
// credentials Secret named) and the Secret is next to it, and returns the Secret.
func waitReadyWithCredentials(t *testing.T, c client.Client, obj *unstructured.Unstructured) *corev1.Secret {
	t.Helper()
	secret := &corev1.Secret{}
	framework.WaitFor(t, 2*time.Minute, fmt.Sprintf("%s/%s to be Ready with its credentials", obj.GetNamespace(), obj.GetName()), func(ctx context.Context) (bool, string, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return false, "", err
		}
		phase, _, _ := unstructured.NestedString(obj.Object, "status", "phase")
		name, _, _ := unstructured.NestedString(obj.Object, "status", "credentialsSecretRef", "name")
		if phase != "Ready" || name == "" {
			return false, fmt.Sprintf("phase %q, secret %q", phase, name), nil
		}
		err := c.Get(ctx, client.ObjectKey{Namespace: obj.GetNamespace(), Name: name}, secret)
		return err == nil, "Secret " + name + ": " + errString(err), nil
	})
	return secret
}

// deleteAndWait deletes the orders at their end consumers and waits until they and every copy
// of theirs on B1 and A are gone.
func (ch *chain) deleteAndWait(t *testing.T, orders ...*order) {
	t.Helper()
	ctx := framework.Context(t)
	for _, o := range orders {
		if err := o.who.client.Delete(ctx, o.obj); client.IgnoreNotFound(err) != nil {
			t.Fatal(err)
		}
	}
	framework.WaitFor(t, 2*time.Minute, "the orders and their copies to be gone", func(ctx context.Context) (bool, string, error) {
		var left []string
		for _, o := range orders {
			if err := o.who.client.Get(ctx, client.ObjectKeyFromObject(o.obj), o.obj.DeepCopy()); !apierrors.IsNotFound(err) {
				left = append(left, o.who.name+"/"+o.obj.GetName()+": "+errString(err))
			}
		}
		for _, side := range []struct {
			what      string
			c         client.Client
			kind      schema.GroupVersionKind
			namespace string
		}{{"B1", ch.b1.client, ch.b1AtA.kind, ""}, {"A", ch.a.client, providerKind, ""}} {
			items, err := list(ctx, side.c, side.kind, side.namespace)
			if err != nil {
				return false, "", err
			}
			for _, item := range items {
				for _, o := range orders {
					if strings.HasSuffix(item.GetAnnotations()[syncengine.SourceNameAnnotation], o.obj.GetName()) {
						left = append(left, "a copy on "+side.what+": "+item.GetNamespace()+"/"+item.GetName())
						break
					}
				}
			}
		}
		return len(left) == 0, strings.Join(left, "; "), nil
	})
}

// dumpOnFailure logs, when the test failed, every Database on B1 and A with its marks and status,
// the last errors of B1's and C1's konnectors and the ResourceQuotas on A; it runs after the
// cleanups the test registers later.
func (ch *chain) dumpOnFailure(t *testing.T) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ctx := context.Background()
		for _, side := range []struct {
			what string
			c    client.Client
			kind schema.GroupVersionKind
		}{{"B1", ch.b1.client, ch.b1AtA.kind}, {"A", ch.a.client, providerKind}} {
			items, err := list(ctx, side.c, side.kind, "")
			t.Logf("--- Databases on %s (%v)", side.what, err)
			for _, item := range items {
				status, _, _ := unstructured.NestedMap(item.Object, "status")
				t.Logf("%s/%s source %s/%s finalizers %v deleting %v status %v", item.GetNamespace(), item.GetName(),
					item.GetAnnotations()[syncengine.SourceNamespaceAnnotation], item.GetAnnotations()[syncengine.SourceNameAnnotation], item.GetFinalizers(),
					item.GetDeletionTimestamp() != nil, status)
			}
		}
		for _, c := range []*cluster{ch.b1, ch.c1} {
			var errors []string
			for _, line := range strings.Split(c.konnector.LogTail(400), "\n") {
				if strings.Contains(line, `"level":"error"`) {
					errors = append(errors, line)
				}
			}
			if len(errors) > 10 {
				errors = errors[len(errors)-10:]
			}
			t.Logf("--- the last errors of %s's konnector:\n%s", c.name, strings.Join(errors, "\n"))
		}
		var quotas corev1.ResourceQuotaList
		err := ch.a.client.List(ctx, &quotas)
		t.Logf("--- ResourceQuotas on A (%v)", err)
		for _, q := range quotas.Items {
			t.Logf("%s/%s spec %v status %v", q.Namespace, q.Name, q.Spec.Hard, q.Status)
		}
	})
}
