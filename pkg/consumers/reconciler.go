package consumers

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/services"
)

// Reconciler keeps each Consumer's namespace, ServiceAccount, Role and RoleBinding as its bound
// Services need them, reports the Ready condition, and revokes it all when the Consumer is deleted.
type Reconciler struct {
	// Client reads Consumers, Services, PublishedResources, CRDs and what Consumers own (cached),
	// and writes what Consumers own and their status.
	Client client.Client
	// APIs finds the APIs the Services' PublishedResources name (default: the CRDs read through Client).
	APIs     services.APIs
	Recorder record.EventRecorder
}

// Reconcile provisions or revokes one Consumer.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	consumer := &bindv1alpha1.Consumer{}
	if err := r.Client.Get(ctx, req.NamespacedName, consumer); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	a := access{client: r.Client, apis: r.APIs}
	if !consumer.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, r.finalize(ctx, a, consumer)
	}
	if err := r.ensureFinalizer(ctx, consumer); err != nil {
		return reconcile.Result{}, err
	}
	ready, err := a.provision(ctx, consumer)
	if err = errors.Join(err, a.report(ctx, consumer, ready, r.Recorder)); err != nil {
		return reconcile.Result{}, err
	}
	// A Lease that is renewed brings the Consumer back; one that stops being renewed does not,
	// so a connected Consumer is looked at again to notice when its konnector goes quiet.
	if meta.IsStatusConditionTrue(consumer.Status.Conditions, bindv1alpha1.ConsumerConditionKonnectorConnected) {
		return reconcile.Result{RequeueAfter: HeartbeatTimeout / 2}, nil
	}
	return reconcile.Result{}, nil
}

// ensureFinalizer makes sure a Consumer is revoked before it goes, also one that Bind did not create.
func (r *Reconciler) ensureFinalizer(ctx context.Context, consumer *bindv1alpha1.Consumer) error {
	if controllerutil.ContainsFinalizer(consumer, Finalizer) {
		return nil
	}
	patch := client.MergeFromWithOptions(consumer.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.AddFinalizer(consumer, Finalizer)
	if err := r.Client.Patch(ctx, consumer, patch); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("adding finalizer to Consumer %s: %w", consumer.Name, err)
	}
	return nil
}

// finalize revokes the Consumer and lets it go once its ServiceAccount is gone; the deletion of
// the ServiceAccount brings the Consumer back here.
func (r *Reconciler) finalize(ctx context.Context, a access, consumer *bindv1alpha1.Consumer) error {
	if !controllerutil.ContainsFinalizer(consumer, Finalizer) {
		return nil
	}
	gone, err := a.revoke(ctx, consumer)
	if err != nil || !gone {
		return err
	}
	patch := client.MergeFromWithOptions(consumer.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(consumer, Finalizer)
	if err := r.Client.Patch(ctx, consumer, patch); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("removing finalizer from Consumer %s: %w", consumer.Name, err)
	}
	if r.Recorder != nil {
		r.Recorder.Event(consumer, corev1.EventTypeNormal, "Revoked", fmt.Sprintf(
			"ServiceAccount %s, its Role and RoleBinding are deleted, so no credential of the Consumer works any more; namespace %s is being deleted",
			ServiceAccountName, NamespaceName(consumer.Name)))
	}
	return nil
}
