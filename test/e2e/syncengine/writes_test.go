package syncengine

import (
	"context"
	"errors"
	"slices"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/pkg/templating"
	"github.com/bindery-dev/bindery/test/framework"
)

const foreignFinalizer = "other.example.com/keep"

// addFinalizer adds a finalizer to a source object as another controller would.
func addFinalizer(t *testing.T, c client.Client, obj *unstructured.Unstructured, finalizer string) {
	t.Helper()
	patch := client.MergeFromWithOptions(obj.DeepCopy(), client.MergeFromWithOptimisticLock{})
	obj.SetFinalizers(append(obj.GetFinalizers(), finalizer))
	if err := c.Patch(framework.Context(t), obj, patch); err != nil {
		t.Fatal(err)
	}
}

// TestFinalizersOfOthersSurvive lets the engine add and remove its finalizer from reads that
// miss a finalizer another controller added meanwhile: the other finalizer must stay.
func TestFinalizersOfOthersSurvive(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	r := p.reconciler(t, framework.UniqueName("finalizers"))
	ns := newNamespace(t, p.source, "finalizers")
	create(t, p.source, object(sourceWidget, ns, "a", map[string]any{}))
	key := client.ObjectKey{Namespace: ns, Name: "a"}

	stale := getObject(t, p.source, sourceWidget, ns, "a")
	addFinalizer(t, p.source, getObject(t, p.source, sourceWidget, ns, "a"), foreignFinalizer)
	p.sources.client = staleReads{Client: p.source, key: key, gvk: sourceWidget, before: stale}
	_, _ = r.Reconcile(framework.Context(t), sourceName, key) // a conflict is fine; a lost finalizer is not
	if got := getObject(t, p.source, sourceWidget, ns, "a").GetFinalizers(); !slices.Contains(got, foreignFinalizer) {
		t.Fatalf("finalizers after adding the engine's = %v: the other controller's is gone", got)
	}
	p.sources.client = p.source
	reconcile(t, r, ns, "a")
	if got := getObject(t, p.source, sourceWidget, ns, "a").GetFinalizers(); !slices.Contains(got, syncengine.Finalizer) {
		t.Fatalf("finalizers = %v, want the engine's too", got)
	}

	t.Log("no longer selected: the engine removes its finalizer from a read that misses one added since")
	selector, err := labels.Parse("sync=yes")
	if err != nil {
		t.Fatal(err)
	}
	r.ResourceSelector = selector // the object has no such label: the engine lets go of it
	stale = getObject(t, p.source, sourceWidget, ns, "a")
	addFinalizer(t, p.source, getObject(t, p.source, sourceWidget, ns, "a"), "late.example.com/keep")
	p.sources.client = staleReads{Client: p.source, key: key, gvk: sourceWidget, before: stale}
	for range 2 { // the first pass deletes the copy, the next one removes the finalizer
		_, _ = r.Reconcile(framework.Context(t), sourceName, key)
	}
	got := getObject(t, p.source, sourceWidget, ns, "a").GetFinalizers()
	if !slices.Contains(got, foreignFinalizer) || !slices.Contains(got, "late.example.com/keep") || slices.Contains(got, syncengine.Finalizer) {
		t.Fatalf("finalizers after the engine let go = %v, want the other controllers' and not the engine's", got)
	}
}

// TestFirstWriteNeverTakesOverAnObject has the engine find the target of a copy free in a read
// that has not caught up, while an object of someone else's is there: the write must fail rather
// than take the object over, and the next pass reports the conflict.
func TestFirstWriteNeverTakesOverAnObject(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	r := p.reconciler(t, framework.UniqueName("takeover"))
	ns := newNamespace(t, p.source, "takeover")
	create(t, p.source, object(sourceWidget, ns, "a", map[string]any{"size": "consumer"}))
	target := client.ObjectKey{Namespace: sourceName, Name: templating.DNSLabel(ns, "a")}
	ensureNamespace(t, p.destination, sourceName)
	create(t, p.destination, object(destWidget, target.Namespace, target.Name, map[string]any{"size": "provider's own"}))

	r.Destination = staleReads{Client: p.destination, key: target, gvk: destWidget}
	after, err := r.Reconcile(framework.Context(t), sourceName, types.NamespacedName{Namespace: ns, Name: "a"})
	theirs := getObject(t, p.destination, destWidget, target.Namespace, target.Name)
	if size, _, _ := unstructured.NestedString(theirs.Object, "spec", "size"); size != "provider's own" {
		t.Fatalf("the provider's own object now has spec.size %q: the engine took it over (Reconcile: %v)", size, err)
	}
	if _, owned := syncengine.OwnerOf(theirs); owned {
		t.Fatalf("the provider's object got the engine's marks: %v", theirs.GetLabels())
	}
	// The refused write is no failure to report: the read was behind, so the engine looks again.
	if err != nil || after <= 0 {
		t.Fatalf("Reconcile = %s, %v; want no error and a pass again soon", after, err)
	}

	r.Destination = p.destination
	_, err = r.Reconcile(framework.Context(t), sourceName, types.NamespacedName{Namespace: ns, Name: "a"})
	if !errors.Is(err, syncengine.ErrBlocked) {
		t.Errorf("the next pass = %v, want ErrBlocked (a conflict)", err)
	}
	waitForEvent(t, p.source, ns, "a", "ProviderConflict")
}

func ensureNamespace(t *testing.T, c client.Client, name string) {
	t.Helper()
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetName(name)
	if err := c.Create(framework.Context(t), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// operatorAtOnce is a destination client whose creates are answered at once by the destination's
// operator, which writes the status of the new object before the engine's next request.
type operatorAtOnce struct{ client.Client }

func (o operatorAtOnce) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	if err := o.Client.Create(ctx, obj, opts...); err != nil {
		return err
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil
	}
	answered := u.DeepCopy()
	answered.Object["status"] = map[string]any{"phase": "Provisioning"}
	return o.Client.Status().Update(ctx, answered)
}

// TestOperatorAnsweringAtOnceIsNoFailure has the destination's operator write the status of a new
// copy before the engine's follow-up to the create: the sync goes on without a failure (no
// SyncFailed event), and the next update of the copy removes a field the source dropped.
func TestOperatorAnsweringAtOnceIsNoFailure(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	r := p.reconciler(t, framework.UniqueName("operator"))
	r.Destination = operatorAtOnce{p.destination}
	ns := newNamespace(t, p.source, "operator")
	create(t, p.source, object(sourceWidget, ns, "a", map[string]any{"size": "1", "extra": "x"}))
	reconcile(t, r, ns, "a")

	src := getObject(t, p.source, sourceWidget, ns, "a")
	patch := client.MergeFrom(src.DeepCopy())
	unstructured.RemoveNestedField(src.Object, "spec", "extra")
	if err := p.source.Patch(framework.Context(t), src, patch); err != nil {
		t.Fatal(err)
	}
	reconcile(t, r, ns, "a")
	copied := getObject(t, p.destination, destWidget, sourceName, templating.DNSLabel(ns, "a"))
	if _, found, _ := unstructured.NestedString(copied.Object, "spec", "extra"); found {
		t.Errorf("spec.extra, which the source dropped, is still on the copy: %v", copied.Object["spec"])
	}
}
