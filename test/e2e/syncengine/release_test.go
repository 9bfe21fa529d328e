package syncengine

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"

	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/pkg/templating"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestReleasedCopiesOutliveTheirSources stops a sync for good as the syncagent does (copies
// marked released, source objects let go of), deletes one source object and starts the sync
// again: the copy of the deleted object belongs to the provider now and stays; the copy of the
// object that still exists is taken back.
func TestReleasedCopiesOutliveTheirSources(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	agent := framework.UniqueName("release")
	r := p.reconciler(t, agent)
	ns := newNamespace(t, p.source, "release")
	for _, name := range []string{"deleted", "kept"} {
		create(t, p.source, object(sourceWidget, ns, name, map[string]any{}))
		reconcile(t, r, ns, name)
	}

	marked, err := syncengine.MarkReleased(framework.Context(t), p.destination, agent, sourceWidget.GroupKind(), destWidget)
	if err != nil || marked != 2 {
		t.Fatalf("MarkReleased = %d, %v; want both copies marked", marked, err)
	}
	for _, name := range []string{"deleted", "kept"} {
		obj := getObject(t, p.source, sourceWidget, ns, name)
		patch, _ := syncengine.ReleasePatch(obj)
		if err := p.source.Patch(framework.Context(t), obj, patch); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.source.Delete(framework.Context(t), getObject(t, p.source, sourceWidget, ns, "deleted")); err != nil {
		t.Fatal(err)
	}

	t.Log("the sync starts again; its copy watch leads it to both sources")
	reconcile(t, r, ns, "deleted")
	reconcile(t, r, ns, "kept")
	if getObject(t, p.destination, destWidget, sourceName, templating.DNSLabel(ns, "deleted")) == nil {
		t.Error("the released copy of the deleted object was deleted")
	}
	kept := getObject(t, p.destination, destWidget, sourceName, templating.DNSLabel(ns, "kept"))
	if _, still := kept.GetAnnotations()[syncengine.ReleasedAnnotation]; still {
		t.Error("the copy of the object that still exists was not taken back")
	}
}

// TestGoneClusterIsNotRetried syncs a Widget, then lets its cluster disappear (disengaged, as a
// deleted workspace is) while the copy's watch still leads to it: the request is dropped rather
// than retried for ever, and the copy stays, for the provider to keep or remove.
func TestGoneClusterIsNotRetried(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	r := p.reconciler(t, framework.UniqueName("gone-cluster"))
	ns := newNamespace(t, p.source, "gone-cluster")
	create(t, p.source, object(sourceWidget, ns, "a", map[string]any{}))
	reconcile(t, r, ns, "a")

	p.sources.gone = true
	after, err := r.Reconcile(framework.Context(t), sourceName, types.NamespacedName{Namespace: ns, Name: "a"})
	if err != nil || after != 0 {
		t.Errorf("Reconcile of an object of a gone cluster = %s, %v; want the request dropped (0, nil)", after, err)
	}
	if getObject(t, p.destination, destWidget, sourceName, templating.DNSLabel(ns, "a")) == nil {
		t.Error("the copy of an object of a gone cluster was deleted")
	}
}
