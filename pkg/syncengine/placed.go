package syncengine

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// PlacedCondition is the condition the engine writes into a source object's status.conditions
// while the destination refuses to create its copy (reason ReasonQuotaExceeded), and removes once
// the copy exists; from then on the status is the copy's. Along a chain (consumer -> reseller ->
// provider) the next hop copies the status back like any other, so the end consumer sees the
// condition of the hop where the object is stuck. It is written only where the source kind has a
// status subresource, and kept only where its schema has status.conditions (the API server
// prunes it otherwise); the Warning event of the same reason is written always.
const PlacedCondition = "sync.bindery.dev/Placed"

// ReasonQuotaExceeded is PlacedCondition's reason, and its event's, when a ResourceQuota of the
// destination namespace refused the copy: the provider caps how many such objects the consumer
// may have.
const ReasonQuotaExceeded = "QuotaExceeded"

// errQuotaExceeded is an ErrBlocked: the consumer has been told (event and condition), and the
// object is retried until the quota has room.
var errQuotaExceeded = fmt.Errorf("%w: the destination's quota is used up", ErrBlocked)

// refusal is a create of a copy that the destination refused, with what to tell the consumer.
type refusal struct{ reason, message string }

func (e *refusal) Error() string { return e.message }

func (e *refusal) Unwrap() error { return errQuotaExceeded }

// limitedCount reads the cap from a quota refusal: "..., limited: count/databases.example.com=10".
var limitedCount = regexp.MustCompile(`limited: [^=,]+=([0-9]+)`)

// asRefusal turns an error of creating a copy into a refusal when a ResourceQuota refused it, with
// a message for the consumer that names the kind it knows (kind) and the cap, not the
// destination's names; any other error is returned as it is.
func asRefusal(err error, kind string) error {
	var status apierrors.APIStatus
	if !apierrors.IsForbidden(err) || !errors.As(err, &status) {
		return err
	}
	message := status.Status().Message
	if !strings.Contains(message, "exceeded quota: ") {
		return err
	}
	cap := "its cap of"
	if m := limitedCount.FindStringSubmatch(message); m != nil {
		cap = m[1]
	}
	return &refusal{reason: ReasonQuotaExceeded, message: fmt.Sprintf(
		"the provider's quota allows %s objects of kind %s for this consumer, and as many exist: delete one, or ask the provider to raise the quota; "+
			"this one is placed as soon as there is room", cap, kind)}
}

// reportRefusal tells the consumer why its object has no copy: a Warning event, and
// PlacedCondition False in its status where the kind has one.
func (r *Reconciler) reportRefusal(ctx context.Context, src client.Client, obj *unstructured.Unstructured, events record.EventRecorder, refused *refusal) error {
	events.Event(obj, corev1.EventTypeWarning, refused.reason, refused.message)
	if !r.Kinds.CopiesStatus {
		return nil
	}
	return setPlaced(ctx, src, obj, &metav1.Condition{
		Type: PlacedCondition, Status: metav1.ConditionFalse, Reason: refused.reason, Message: refused.message,
		ObservedGeneration: obj.GetGeneration(),
	})
}

// setPlaced sets (cond) or removes (nil) PlacedCondition in obj's status.conditions, writing the
// status only when that changes it.
func setPlaced(ctx context.Context, src client.Client, obj *unstructured.Unstructured, cond *metav1.Condition) error {
	raw, _, err := unstructured.NestedSlice(obj.Object, "status", "conditions")
	if err != nil {
		return nil // not a list of conditions: nothing of the engine's to write there
	}
	conditions := make([]metav1.Condition, 0, len(raw)+1)
	for _, item := range raw {
		m, ok := item.(map[string]any)
		if !ok {
			return nil
		}
		var c metav1.Condition
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &c); err != nil {
			return nil // conditions of another shape: left alone
		}
		conditions = append(conditions, c)
	}
	if cond == nil {
		if !meta.RemoveStatusCondition(&conditions, PlacedCondition) {
			return nil
		}
	} else if !meta.SetStatusCondition(&conditions, *cond) {
		return nil
	}
	items := make([]any, 0, len(conditions))
	for i := range conditions {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&conditions[i])
		if err != nil {
			return err
		}
		items = append(items, m)
	}
	patch := client.MergeFrom(obj.DeepCopy())
	if err := unstructured.SetNestedSlice(obj.Object, items, "status", "conditions"); err != nil {
		return err
	}
	if err := src.Status().Patch(ctx, obj, patch); err != nil {
		return fmt.Errorf("writing the %s condition: %w", PlacedCondition, err)
	}
	return nil
}

// announceCarried records an event on obj when the copy's status carries PlacedCondition False
// that obj's status does not have yet: the next hop of a chain could not place the object, and
// this is the only event the consumer of this hop gets of it.
func announceCarried(events record.EventRecorder, current, status map[string]any, obj *unstructured.Unstructured) {
	carried := placedIn(status)
	if carried == nil || carried.Status != metav1.ConditionFalse {
		return
	}
	if had := placedIn(current); had != nil && had.Status == carried.Status && had.Reason == carried.Reason && had.Message == carried.Message {
		return
	}
	events.Event(obj, corev1.EventTypeWarning, carried.Reason, carried.Message)
}

// placedIn returns PlacedCondition of a status, or nil.
func placedIn(status map[string]any) *metav1.Condition {
	raw, _, _ := unstructured.NestedSlice(status, "conditions")
	for _, item := range raw {
		m, ok := item.(map[string]any)
		if !ok || m["type"] != PlacedCondition {
			continue
		}
		var c metav1.Condition
		if runtime.DefaultUnstructuredConverter.FromUnstructured(m, &c) == nil {
			return &c
		}
	}
	return nil
}
