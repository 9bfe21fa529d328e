package publishing

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
)

// Reasons that Ready takes while the sync controller has not reported on a published schema.
// The Synced condition uses them too: the sync controller writes them, Ready derives them.
const (
	// ReasonWaitingForSchema: the sync waits for SchemaPublished to turn True.
	ReasonWaitingForSchema = "WaitingForSchema"
	// ReasonSyncStarting: the schema is published and the sync controller is starting.
	ReasonSyncStarting = "SyncStarting"
)

// ReadyCondition summarises SchemaPublished and Synced: True only when both are True (Synced is
// True with SynchronizationDisabled too), else False with the reason and message of the first
// condition that is not True, SchemaPublished first. Two controllers write these conditions
// (publishing and the sync controller); each recomputes Ready with this function whenever it
// writes, so whichever writes last leaves Ready consistent with both. Ready's observedGeneration
// is the older of theirs: Ready describes an edit only once both controllers handled it.
func ReadyCondition(conditions []metav1.Condition, generation int64) metav1.Condition {
	ready := metav1.Condition{Type: syncagentv1alpha1.ConditionReady, ObservedGeneration: generation, Status: metav1.ConditionFalse}
	published := meta.FindStatusCondition(conditions, syncagentv1alpha1.ConditionSchemaPublished)
	synced := meta.FindStatusCondition(conditions, syncagentv1alpha1.ConditionSynced)
	for _, c := range []*metav1.Condition{published, synced} {
		if c != nil {
			ready.ObservedGeneration = min(ready.ObservedGeneration, c.ObservedGeneration)
		}
	}
	switch {
	case published == nil:
		ready.Reason, ready.Message = ReasonWaitingForSchema, "the schema is not published yet (see the SchemaPublished condition)"
	case published.Status != metav1.ConditionTrue:
		ready.Reason, ready.Message = published.Reason, published.Message
	case synced == nil || synced.Reason == ReasonWaitingForSchema:
		// Synced has not caught up with the schema that was just published.
		ready.Reason, ready.Message = ReasonSyncStarting, published.Message+"; the sync controller is starting (see the Synced condition)"
	case synced.Status != metav1.ConditionTrue:
		ready.Reason, ready.Message = synced.Reason, synced.Message
	default:
		ready.Status, ready.Reason = metav1.ConditionTrue, ReasonPublished
		ready.Message = published.Message + "; " + synced.Message
	}
	return ready
}

// SetReady recomputes Ready in status from its other conditions. It returns the Ready condition
// status had before (nil if none) and the new one, for ReadyEvent.
func SetReady(status *syncagentv1alpha1.PublishedResourceStatus, generation int64) (*metav1.Condition, metav1.Condition) {
	var previous *metav1.Condition
	if c := meta.FindStatusCondition(status.Conditions, syncagentv1alpha1.ConditionReady); c != nil {
		previous = c.DeepCopy()
	}
	ready := ReadyCondition(status.Conditions, generation)
	meta.SetStatusCondition(&status.Conditions, ready)
	return previous, ready
}

// ReadyEvent records an event on the PublishedResource when its Ready condition changed (status,
// reason or message), after the change was written. SyncStarting is progress that resolves by
// itself within moments, so it gets no event; the outcome does.
func ReadyEvent(recorder record.EventRecorder, pr *syncagentv1alpha1.PublishedResource, previous *metav1.Condition, ready metav1.Condition) {
	if recorder == nil || ready.Reason == ReasonSyncStarting {
		return
	}
	if previous != nil && previous.Status == ready.Status && previous.Reason == ready.Reason && previous.Message == ready.Message {
		return
	}
	if ready.Status == metav1.ConditionTrue {
		recorder.Event(pr, corev1.EventTypeNormal, "SchemaPublished", ready.Message)
		return
	}
	recorder.Event(pr, corev1.EventTypeWarning, ready.Reason, ready.Message)
}
