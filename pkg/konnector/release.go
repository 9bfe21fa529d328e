package konnector

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/syncengine"
)

// releasePageSize bounds one list of the consumer's objects of a released kind.
const releasePageSize = 500

// finalize disconnects a ServiceBinding that is being deleted: its units and connection stop,
// the engine's finalizer is removed from the consumer's objects of every kind it received (so
// that deleting them is never stuck on a sync that no longer runs), and then the konnector's
// finalizer. The objects, their CRDs and their copies on the provider stay.
func (r *Reconciler) finalize(ctx context.Context, b *bindv1alpha1.ServiceBinding) error {
	synced := r.disconnect(b.Name)
	if !controllerutil.ContainsFinalizer(b, Finalizer) {
		return nil
	}
	var errs []error
	for _, res := range b.Status.Resources {
		errs = append(errs, r.releaseResource(ctx, res))
	}
	for _, kinds := range synced {
		errs = append(errs, r.releaseKind(ctx, kinds.Source))
	}
	if err := errors.Join(errs...); err != nil {
		r.Recorder.Event(b, corev1.EventTypeWarning, "ReleaseFailed", "removing the sync's finalizer from the received objects (retrying): "+err.Error())
		return fmt.Errorf("releasing the objects of ServiceBinding %s: %w", b.Name, err)
	}
	patch := client.MergeFromWithOptions(b.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(b, Finalizer)
	if err := r.Client.Patch(ctx, b, patch); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("removing the finalizer %s from ServiceBinding %s: %w", Finalizer, b.Name, err)
	}
	r.states.forget(b.Name)
	r.Log.Info("ServiceBinding deleted: disconnected; its objects and CRDs stay", "binding", b.Name)
	return nil
}

// releaseResource releases the objects of a received CRD, in the version it stores; a CRD that is
// gone has no objects left.
func (r *Reconciler) releaseResource(ctx context.Context, res bindv1alpha1.ReceivedResource) error {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: res.CRD}, crd); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("reading CRD %s: %w", res.CRD, err)
	}
	version := ""
	for _, v := range crd.Spec.Versions {
		if v.Served && (version == "" || v.Storage) {
			version = v.Name
		}
	}
	if version == "" {
		return nil // nothing served: nothing can be listed, nor deleted
	}
	return r.releaseKind(ctx, schema.GroupVersionKind{Group: crd.Spec.Group, Version: version, Kind: crd.Spec.Names.Kind})
}

// releaseKind removes the engine's finalizer (and nothing else: syncengine.ReleasePatch) from
// every object of gvk in the consumer cluster, reading past the cache so that no informer is
// started for a kind that is no longer synced.
func (r *Reconciler) releaseKind(ctx context.Context, gvk schema.GroupVersionKind) error {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	for {
		if err := r.APIReader.List(ctx, list, client.Limit(releasePageSize), client.Continue(list.GetContinue())); err != nil {
			if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("listing %s: %w", gvk.GroupKind(), err)
		}
		for i := range list.Items {
			obj := &list.Items[i]
			patch, ok := syncengine.ReleasePatch(obj)
			if !ok {
				continue
			}
			if err := r.Client.Patch(ctx, obj, patch); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("removing the finalizer %s from %s %s/%s: %w", syncengine.Finalizer, gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
			}
		}
		if list.GetContinue() == "" {
			return nil
		}
	}
}
