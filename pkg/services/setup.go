package services

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
)

// SetupWithManager runs the reconciler in mgr, which must know bind.bindery.dev, syncagent.bindery.dev
// and the kind of APIs.Source. A PublishedResource brings back the Services that select it (before
// and after a change of its labels), a change of an API's definition (a CRD, an APIBinding) the
// Services that select a PublishedResource of it.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Client == nil {
		r.Client = mgr.GetClient()
	}
	r.APIs = Or(r.APIs, r.Client)
	if r.Recorder == nil {
		r.Recorder = mgr.GetEventRecorderFor("bindery-services")
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("services").
		For(&bindv1alpha1.Service{}).
		Watches(&syncagentv1alpha1.PublishedResource{}, handler.EnqueueRequestsFromMapFunc(r.forPublishedResource)).
		Watches(r.APIs.Source(), handler.EnqueueRequestsFromMapFunc(r.forAPI)).
		Complete(r)
}

func (r *Reconciler) forPublishedResource(ctx context.Context, obj client.Object) []reconcile.Request {
	names, err := ForLabels(ctx, r.Client, obj.GetLabels())
	return requests(ctx, names, err)
}

func (r *Reconciler) forAPI(ctx context.Context, obj client.Object) []reconcile.Request {
	names, err := ForAPI(ctx, r.Client, r.APIs, obj)
	return requests(ctx, names, err)
}

func requests(ctx context.Context, names []string, err error) []reconcile.Request {
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "mapping an event to Services")
		return nil
	}
	out := make([]reconcile.Request, 0, len(names))
	for _, name := range names {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKey{Name: name}})
	}
	return out
}

// ForLabels returns the names of the Services whose selector matches a PublishedResource with
// these labels. Services with an invalid selector select nothing.
func ForLabels(ctx context.Context, c client.Reader, prLabels map[string]string) ([]string, error) {
	svcs := &bindv1alpha1.ServiceList{}
	if err := c.List(ctx, svcs); err != nil {
		return nil, err
	}
	var names []string
	for i := range svcs.Items {
		selector, err := metav1.LabelSelectorAsSelector(&svcs.Items[i].Spec.PublishedResources)
		if err == nil && selector.Matches(labels.Set(prLabels)) {
			names = append(names, svcs.Items[i].Name)
		}
	}
	return names, nil
}

// ForAPI returns the names of the Services that select a PublishedResource whose API obj (of
// apis.Source's kind) may define.
func ForAPI(ctx context.Context, c client.Reader, apis APIs, obj client.Object) ([]string, error) {
	prs := &syncagentv1alpha1.PublishedResourceList{}
	if err := c.List(ctx, prs); err != nil {
		return nil, err
	}
	names := sets.New[string]()
	for _, pr := range prs.Items {
		if !apis.Defines(obj, pr.Spec.Resource) {
			continue
		}
		selecting, err := ForLabels(ctx, c, pr.Labels)
		if err != nil {
			return nil, err
		}
		names.Insert(selecting...)
	}
	return sets.List(names), nil
}
