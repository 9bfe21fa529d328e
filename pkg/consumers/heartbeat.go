package consumers

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
)

const (
	// HeartbeatTimeout is how long after its last renewal of the heartbeat Lease a konnector
	// counts as connected.
	HeartbeatTimeout = 2 * time.Minute
	// heartbeatResolution: status.lastHeartbeatTime follows the Lease in steps of this size, so
	// that a konnector renewing every few seconds does not cost a status write each time.
	heartbeatResolution = time.Minute
)

// heartbeat reads the konnector's Lease and returns the last heartbeat to record (the recorded
// one when the Lease moved less than heartbeatResolution since) and the KonnectorConnected
// condition it means at now.
func (a access) heartbeat(ctx context.Context, consumer *bindv1alpha1.Consumer, now time.Time) (*metav1.Time, metav1.Condition) {
	cond := metav1.Condition{Type: bindv1alpha1.ConsumerConditionKonnectorConnected, ObservedGeneration: consumer.Generation}
	lease := &coordinationv1.Lease{}
	err := a.client.Get(ctx, client.ObjectKey{Namespace: NamespaceName(consumer.Name), Name: LeaseName}, lease)
	var renewed *metav1.Time
	if err == nil && lease.Spec.RenewTime != nil {
		renewed = &metav1.Time{Time: lease.Spec.RenewTime.Time}
	}
	recorded := consumer.Status.LastHeartbeatTime
	if renewed != nil && (recorded == nil || renewed.Sub(recorded.Time) >= heartbeatResolution) {
		recorded = renewed
	}
	switch {
	case err != nil && !apierrors.IsNotFound(err):
		cond.Status, cond.Reason, cond.Message = metav1.ConditionUnknown, bindv1alpha1.ConsumerReasonHeartbeatUnknown, fmt.Sprintf("reading the heartbeat Lease: %v", err)
	case renewed == nil:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, bindv1alpha1.ConsumerReasonNoHeartbeat,
			fmt.Sprintf("no konnector has connected yet (Lease %s in namespace %s)", LeaseName, NamespaceName(consumer.Name))
	case now.Sub(renewed.Time) > HeartbeatTimeout:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, bindv1alpha1.ConsumerReasonHeartbeatStale,
			fmt.Sprintf("the konnector last renewed its Lease at %s, more than %s ago: it is down or cannot reach the provider", renewed.UTC().Format(time.RFC3339), HeartbeatTimeout)
	default:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, bindv1alpha1.ConsumerReasonHeartbeat,
			fmt.Sprintf("the konnector renewed its Lease at %s", renewed.UTC().Format(time.RFC3339))
	}
	return recorded, cond
}
