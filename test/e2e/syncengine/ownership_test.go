package syncengine

import (
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/pkg/templating"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestTwoKindsIntoOneDestinationKind runs two syncs of one agent that copy two source kinds
// (Widgets and Gadgets) into one destination kind, as two PublishedResources projecting one
// provider CRD under two names do. Neither may take the other's copy for its own: a sync that
// finds no object of its kind behind a copy leaves the copy alone, and a Gadget named like a
// synced Widget is a conflict, not an update of the Widget's copy.
func TestTwoKindsIntoOneDestinationKind(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	agent := framework.UniqueName("kinds")
	widgets := p.reconciler(t, agent)
	gadgets := p.reconciler(t, agent)
	gadgets.Kinds.Source = sourceGadget
	ns := newNamespace(t, p.source, "kinds")

	create(t, p.source, object(sourceWidget, ns, "a", map[string]any{"from": "widget"}))
	reconcile(t, widgets, ns, "a")
	copyName := templating.DNSLabel(ns, "a")
	if getObject(t, p.destination, destWidget, sourceName, copyName) == nil {
		t.Fatal("the Widget was not copied")
	}

	t.Log("the Gadget sync, led to the Widget's copy by its marks, finds no Gadget a: the copy must stay")
	reconcile(t, gadgets, ns, "a")
	if getObject(t, p.destination, destWidget, sourceName, copyName) == nil {
		t.Fatal("the Gadget sync deleted the Widget's copy")
	}

	t.Log("a Gadget named like the Widget lands on the same target: a conflict, the Widget's copy is not overwritten")
	create(t, p.source, object(sourceGadget, ns, "a", map[string]any{"from": "gadget"}))
	_, err := gadgets.Reconcile(framework.Context(t), sourceName, types.NamespacedName{Namespace: ns, Name: "a"})
	if !errors.Is(err, syncengine.ErrBlocked) {
		t.Errorf("syncing the Gadget = %v, want ErrBlocked (a conflict)", err)
	}
	copied := getObject(t, p.destination, destWidget, sourceName, copyName)
	if from, _, _ := unstructured.NestedString(copied.Object, "spec", "from"); from != "widget" {
		t.Errorf("the Widget's copy now says spec.from=%q: the Gadget sync overwrote it", from)
	}
	waitForEvent(t, p.source, ns, "a", "ProviderConflict")
}

// TestNamingChangeKeepsOneCopy changes the naming rules of a sync whose object is already
// copied: the copy stays where it is and is kept up to date there; no second copy appears.
func TestNamingChangeKeepsOneCopy(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	agent := framework.UniqueName("naming")
	r := p.reconciler(t, agent)
	ns := newNamespace(t, p.source, "naming")
	src := object(sourceWidget, ns, "a", map[string]any{"size": "1"})
	create(t, p.source, src)
	reconcile(t, r, ns, "a")

	renamed, err := syncengine.NewNamer(syncengine.Naming{Name: "{{ .Object.metadata.name }}-renamed"})
	if err != nil {
		t.Fatal(err)
	}
	r.Namer = renamed
	patch := client.MergeFrom(getObject(t, p.source, sourceWidget, ns, "a"))
	changed := getObject(t, p.source, sourceWidget, ns, "a")
	if err := unstructured.SetNestedField(changed.Object, "2", "spec", "size"); err != nil {
		t.Fatal(err)
	}
	if err := p.source.Patch(framework.Context(t), changed, patch); err != nil {
		t.Fatal(err)
	}
	reconcile(t, r, ns, "a")

	copies := copiesOf(t, p.destination, agent)
	if len(copies) != 1 {
		names := make([]string, 0, len(copies))
		for _, c := range copies {
			names = append(names, c.GetNamespace()+"/"+c.GetName())
		}
		t.Fatalf("copies after the naming change: %v, want exactly one", names)
	}
	if got := copies[0].GetName(); got != templating.DNSLabel(ns, "a") {
		t.Errorf("the copy moved to %s", got)
	}
	if size, _, _ := unstructured.NestedString(copies[0].Object, "spec", "size"); size != "2" {
		t.Errorf("the copy where it stays has spec.size %q, want the update (2)", size)
	}
}
