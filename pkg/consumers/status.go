package consumers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
)

// report writes the Consumer's status for the Ready condition of a provisioning and records an
// event when Ready changed. The write has an optimistic lock: a status written meanwhile (by the
// Reconciler or a Bind) fails it, and the caller starts again from what is stored.
func (a access) report(ctx context.Context, consumer *bindv1alpha1.Consumer, ready metav1.Condition, recorder record.EventRecorder) error {
	status := consumer.Status.DeepCopy()
	status.ObservedGeneration = consumer.Generation
	if ready.Reason != bindv1alpha1.ConsumerReasonProvisionFailed {
		status.Namespace, status.ServiceAccount = NamespaceName(consumer.Name), ServiceAccountName
	}
	previous := meta.FindStatusCondition(consumer.Status.Conditions, bindv1alpha1.ConsumerConditionReady)
	changed := previous == nil || previous.Status != ready.Status || previous.Reason != ready.Reason || previous.Message != ready.Message
	meta.SetStatusCondition(&status.Conditions, ready)
	var connected metav1.Condition
	status.LastHeartbeatTime, connected = a.heartbeat(ctx, consumer, time.Now())
	meta.SetStatusCondition(&status.Conditions, connected)
	if equality.Semantic.DeepEqual(&consumer.Status, status) {
		return nil
	}
	patch := client.MergeFromWithOptions(consumer.DeepCopy(), client.MergeFromWithOptimisticLock{})
	consumer.Status = *status
	if err := a.client.Status().Patch(ctx, consumer, patch); err != nil {
		return fmt.Errorf("updating status of Consumer %s: %w", consumer.Name, err)
	}
	if changed && recorder != nil {
		eventType := corev1.EventTypeNormal
		if ready.Status != metav1.ConditionTrue {
			eventType = corev1.EventTypeWarning
		}
		recorder.Event(consumer, eventType, ready.Reason, ready.Message)
	}
	return nil
}
