package publishing

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
)

func cond(conditionType string, status metav1.ConditionStatus, reason, message string, generation int64) metav1.Condition {
	return metav1.Condition{Type: conditionType, Status: status, Reason: reason, Message: message, ObservedGeneration: generation}
}

func TestReadyCondition(t *testing.T) {
	const (
		schemaType = syncagentv1alpha1.ConditionSchemaPublished
		syncedType = syncagentv1alpha1.ConditionSynced
		yes, no    = metav1.ConditionTrue, metav1.ConditionFalse
	)
	published := cond(schemaType, yes, ReasonPublished, "in the export", 3)
	for _, tc := range []struct {
		name       string
		conditions []metav1.Condition
		status     metav1.ConditionStatus
		reason     string
		message    string
		generation int64
	}{
		{"nothing yet", nil, no, ReasonWaitingForSchema, "the schema is not published yet (see the SchemaPublished condition)", 3},
		{"schema failed: its reason, whatever Synced says", []metav1.Condition{
			cond(schemaType, no, ReasonCRDNotFound, "no CRD", 3), cond(syncedType, yes, "SyncRunning", "running", 3),
		}, no, ReasonCRDNotFound, "no CRD", 3},
		{"published, no Synced yet", []metav1.Condition{published}, no, ReasonSyncStarting, "in the export; the sync controller is starting (see the Synced condition)", 3},
		{"published, Synced still waits for it", []metav1.Condition{
			published, cond(syncedType, no, ReasonWaitingForSchema, "waiting", 3),
		}, no, ReasonSyncStarting, "in the export; the sync controller is starting (see the Synced condition)", 3},
		{"published, sync controller failed", []metav1.Condition{
			published, cond(syncedType, no, "SyncControllerFailed", "forbidden", 3),
		}, no, "SyncControllerFailed", "forbidden", 3},
		{"published and synced", []metav1.Condition{
			published, cond(syncedType, yes, "SyncRunning", "objects sync", 3),
		}, yes, ReasonPublished, "in the export; objects sync", 3},
		{"published, sync disabled", []metav1.Condition{
			published, cond(syncedType, yes, ReasonSynchronizationDisabled, "schema only", 3),
		}, yes, ReasonPublished, "in the export; schema only", 3},
		{"Synced has not seen the last edit", []metav1.Condition{
			published, cond(syncedType, yes, "SyncRunning", "objects sync", 2),
		}, yes, ReasonPublished, "in the export; objects sync", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ReadyCondition(tc.conditions, 3)
			if got.Type != syncagentv1alpha1.ConditionReady || got.Status != tc.status || got.Reason != tc.reason || got.Message != tc.message || got.ObservedGeneration != tc.generation {
				t.Fatalf("Ready = %s %s %q (generation %d), want %s %s %q (generation %d)",
					got.Status, got.Reason, got.Message, got.ObservedGeneration, tc.status, tc.reason, tc.message, tc.generation)
			}
		})
	}
}

func TestSetReadyReturnsThePreviousCondition(t *testing.T) {
	status := &syncagentv1alpha1.PublishedResourceStatus{Conditions: []metav1.Condition{
		cond(syncagentv1alpha1.ConditionReady, metav1.ConditionTrue, ReasonPublished, "old", 1),
		cond(syncagentv1alpha1.ConditionSchemaPublished, metav1.ConditionFalse, ReasonInvalidSpec, "spec.naming.name: bad", 1),
	}}
	previous, ready := SetReady(status, 1)
	if previous == nil || previous.Message != "old" {
		t.Fatalf("previous = %+v, want the old Ready", previous)
	}
	if ready.Status != metav1.ConditionFalse || ready.Reason != ReasonInvalidSpec {
		t.Fatalf("ready = %+v", ready)
	}
	if len(status.Conditions) != 2 || status.Conditions[0].Reason != ReasonInvalidSpec {
		t.Fatalf("Ready not replaced in place: %+v", status.Conditions)
	}
}
