package services

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
)

// Reconciler reports in each Service's status what Resolve finds: status.resources and the
// Ready condition, with an event whenever Ready changes.
type Reconciler struct {
	// Client reads Services, PublishedResources and CRDs (cached) and writes Service status.
	Client client.Client
	// APIs finds the APIs PublishedResources name (default: the CRDs read through Client).
	APIs     APIs
	Recorder record.EventRecorder
}

// Reconcile resolves one Service and writes its status.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	svc := &bindv1alpha1.Service{}
	if err := r.Client.Get(ctx, req.NamespacedName, svc); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	resolved, err := Resolve(ctx, r.Client, r.APIs, svc)
	problem, isProblem := AsError(err)
	if err != nil && !isProblem {
		return reconcile.Result{}, err
	}
	// A problem is not retried: the watches bring the Service back when what it names changes.
	return reconcile.Result{}, r.report(ctx, svc, resolved, problem)
}

// report writes the status for a resolved Service, or for the problem that kept it from
// resolving, and records an event if Ready changed.
func (r *Reconciler) report(ctx context.Context, svc *bindv1alpha1.Service, resolved *Resolved, problem *Error) error {
	status := svc.Status.DeepCopy()
	status.ObservedGeneration = svc.Generation
	status.Resources = nil
	if resolved != nil {
		status.Resources = resolved.StatusResources()
	}
	ready := ReadyCondition(svc.Generation, resolved, problem)
	previous := meta.FindStatusCondition(svc.Status.Conditions, bindv1alpha1.ServiceConditionReady)
	changed := previous == nil || previous.Status != ready.Status || previous.Reason != ready.Reason || previous.Message != ready.Message
	meta.SetStatusCondition(&status.Conditions, ready)
	if equality.Semantic.DeepEqual(&svc.Status, status) {
		return nil
	}
	patch := client.MergeFromWithOptions(svc.DeepCopy(), client.MergeFromWithOptimisticLock{})
	svc.Status = *status
	if err := r.Client.Status().Patch(ctx, svc, patch); err != nil {
		return fmt.Errorf("updating status of Service %s: %w", svc.Name, err)
	}
	if changed && r.Recorder != nil {
		eventType := corev1.EventTypeNormal
		if ready.Status != metav1.ConditionTrue {
			eventType = corev1.EventTypeWarning
		}
		r.Recorder.Event(svc, eventType, ready.Reason, ready.Message)
	}
	return nil
}

// ReadyCondition is a Service's Ready condition: True when it resolved, else False with the
// problem's reason and words.
func ReadyCondition(generation int64, resolved *Resolved, problem *Error) metav1.Condition {
	ready := metav1.Condition{Type: bindv1alpha1.ServiceConditionReady, ObservedGeneration: generation}
	if problem != nil || resolved == nil {
		ready.Status, ready.Reason = metav1.ConditionFalse, bindv1alpha1.ServiceReasonInvalidResource
		if problem != nil {
			ready.Reason, ready.Message = problem.Reason, problem.Error()
		}
		return ready
	}
	kinds := make([]string, 0, len(resolved.Resources))
	for _, res := range resolved.Resources {
		kinds = append(kinds, res.Bound.Consumer.Kind+"."+res.Bound.Consumer.Group)
	}
	ready.Status, ready.Reason = metav1.ConditionTrue, bindv1alpha1.ServiceReasonReady
	ready.Message = "consumers receive " + strings.Join(kinds, ", ")
	return ready
}
