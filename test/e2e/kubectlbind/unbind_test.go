package kubectlbind

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/test/framework"
)

// holdFinalizer stands in for the konnector's finalizer on a consumer object.
const holdFinalizer = "e2e.bindery.dev/hold"

// TestUnbindDeletesTheObjectsFirst: with --objects=delete, unbind deletes the consumer's objects
// of the received resource and waits while one is held by a finalizer (the konnector deleting
// its copy at the provider), and removes the binding only once they are gone. The CRD stays.
func TestUnbindDeletesTheObjectsFirst(t *testing.T) {
	e := newEnv(t)
	resp := e.response()
	out := &framework.SyncBuffer{}
	binding, err := e.consumerBind(resp, out, nil).Run(e.ctx)
	if err != nil {
		t.Fatalf("bind: %v\n%s", err, out)
	}
	// As the konnector would: install the received CRD, report it, and let objects be created.
	crd := resp.CRDs[0].DeepCopy()
	if err := e.c.Create(e.ctx, crd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.c.Delete(context.Background(), crd) })
	e.setStatus(binding.Name, func(b *bindv1alpha1.ServiceBinding) {
		b.Status.Resources = []bindv1alpha1.ReceivedResource{{CRD: crd.Name, Group: e.group, Resource: "databases", Kind: "Database"}}
	})
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: framework.UniqueName("team")}}
	if err := e.c.Create(e.ctx, ns); err != nil {
		t.Fatal(err)
	}
	held := e.createDatabase(ns.Name, "held", holdFinalizer)
	free := e.createDatabase(ns.Name, "free")

	done := make(chan error, 1)
	unbindOut := &framework.SyncBuffer{}
	go func() {
		output, err := e.kubectlBindery("unbind", binding.Name, "--objects=delete")
		fmt.Fprint(unbindOut, output)
		done <- err
	}()
	framework.WaitFor(t, 30*time.Second, "unbind to delete both objects, one held by its finalizer", func(ctx context.Context) (bool, string, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(free), free.DeepCopy())
		h := held.DeepCopy()
		if herr := e.c.Get(ctx, client.ObjectKeyFromObject(held), h); herr != nil {
			return false, "", herr
		}
		return apierrors.IsNotFound(err) && h.GetDeletionTimestamp() != nil, fmt.Sprintf("free: %v, held deleting: %v", err, h.GetDeletionTimestamp()), nil
	})
	framework.HoldsFor(t, 2*time.Second, "the ServiceBinding staying while an object is held", func(ctx context.Context) (bool, string, error) {
		b := &bindv1alpha1.ServiceBinding{}
		if err := e.c.Get(ctx, client.ObjectKeyFromObject(binding), b); apierrors.IsNotFound(err) {
			return false, "the ServiceBinding is gone", nil
		} else if err != nil {
			return false, "", err // a busy API server; HoldsFor skips the observation
		}
		return b.DeletionTimestamp == nil, "the ServiceBinding is being deleted", nil
	})

	// As the konnector would once the copy at the provider is gone: let the object go.
	h := held.DeepCopy()
	if err := e.c.Get(e.ctx, client.ObjectKeyFromObject(held), h); err != nil {
		t.Fatal(err)
	}
	h.SetFinalizers(nil)
	if err := e.c.Update(e.ctx, h); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("unbind: %v\n%s", err, unbindOut)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("unbind still runs 30 s after the last object was let go")
	}
	t.Logf("unbind printed:\n%s", unbindOut)
	e.checkGone(binding)
	if err := e.c.Get(e.ctx, client.ObjectKeyFromObject(crd), &apiextensionsv1.CustomResourceDefinition{}); err != nil {
		t.Errorf("the received CRD: %v, want it left installed", err)
	}
	for _, want := range []string{"Deleting 2 object(s) of databases." + e.group, "are gone", "kubectl delete crd databases." + e.group} {
		if !strings.Contains(unbindOut.String(), want) {
			t.Errorf("unbind printed\n%s\nwithout %q", unbindOut, want)
		}
	}
}

// createDatabase creates a Database of the test's group, with finalizers.
func (e *env) createDatabase(namespace, name string, finalizers ...string) *unstructured.Unstructured {
	e.t.Helper()
	db := &unstructured.Unstructured{}
	db.SetGroupVersionKind(schema.GroupVersionKind{Group: e.group, Version: "v1", Kind: "Database"})
	db.SetNamespace(namespace)
	db.SetName(name)
	db.SetFinalizers(finalizers)
	db.Object["spec"] = map[string]any{"size": "small"}
	framework.CreateWhenServed(e.t, e.c, db)
	return db
}
