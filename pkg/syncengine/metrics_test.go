package syncengine

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestCountLabelsByAgentAndOutcome(t *testing.T) {
	r := &Reconciler{Agent: "metrics-test"}
	before := testutil.ToFloat64(syncedObjects.WithLabelValues("metrics-test", outcomeCreated))
	r.count(outcomeCreated)
	r.count(outcomeCreated)
	r.count(outcomeConflict)
	if got := testutil.ToFloat64(syncedObjects.WithLabelValues("metrics-test", outcomeCreated)) - before; got != 2 {
		t.Fatalf("created = %v, want 2", got)
	}
	if got := testutil.ToFloat64(syncedObjects.WithLabelValues("metrics-test", outcomeConflict)); got != 1 {
		t.Fatalf("conflict = %v, want 1", got)
	}
	if problems, err := testutil.CollectAndLint(syncedObjects); err != nil || len(problems) > 0 {
		t.Fatalf("metric lint: %v %v", problems, err)
	}
}
