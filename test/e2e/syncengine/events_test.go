package syncengine

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/types"

	"github.com/bindery-dev/bindery/pkg/templating"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestHappyPathWritesOneEvent syncs a Widget whose copy gets a status: the consumer hears of it
// once, with Synced. Every event is a write to the source cluster (three requests through kcp's
// virtual workspace), so progress that nothing held up is not announced step by step.
func TestHappyPathWritesOneEvent(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	r := p.reconciler(t, framework.UniqueName("events"))
	ns := newNamespace(t, p.source, "events")
	create(t, p.source, object(sourceWidget, ns, "a", map[string]any{}))
	reconcile(t, r, ns, "a")
	setStatus(t, p.destination, destWidget, sourceName, templating.DNSLabel(ns, "a"), map[string]any{"phase": "Ready"})
	if _, err := r.Reconcile(framework.Context(t), sourceName, types.NamespacedName{Namespace: ns, Name: "a"}); err != nil {
		t.Fatal(err)
	}
	waitForEvent(t, p.source, ns, "a", "Synced")
	// The recorder writes in order: an earlier event would be there by now.
	if reasons := eventReasons(t, p.source, ns, "a"); !slices.Equal(reasons, []string{"Synced"}) {
		t.Errorf("events on a = %v, want only Synced", reasons)
	}
}
