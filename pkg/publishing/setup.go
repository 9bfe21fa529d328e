package publishing

import (
	"context"

	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
)

// SetupWithManager runs the reconciler in mgr (the provider cluster), also watching the CRDs there
// and the APIExport through kcpCache, with one worker.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, kcpCache cache.Cache) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("publishing-"+r.AgentName).
		For(&syncagentv1alpha1.PublishedResource{}).
		Watches(&apiextensionsv1.CustomResourceDefinition{}, handler.EnqueueRequestsFromMapFunc(r.forCRD)).
		WatchesRawSource(source.Kind(kcpCache, &apisv1alpha2.APIExport{},
			handler.TypedEnqueueRequestsFromMapFunc(func(ctx context.Context, _ *apisv1alpha2.APIExport) []reconcile.Request {
				return r.requestsFor(ctx, func(syncagentv1alpha1.PublishedResource) bool { return true })
			}))).
		// Once at start: prunes what PublishedResources deleted while the agent was down left behind.
		WatchesRawSource(source.Func(func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
			q.Add(reconcile.Request{})
			return nil
		})).
		WithOptions(controller.Options{MaxConcurrentReconciles: 1}).
		Complete(r)
}

// forCRD maps a CRD to the agent's PublishedResources that publish it.
func (r *Reconciler) forCRD(ctx context.Context, obj client.Object) []reconcile.Request {
	crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition)
	if !ok {
		return nil
	}
	return r.requestsFor(ctx, func(pr syncagentv1alpha1.PublishedResource) bool {
		return pr.Spec.Resource.APIGroup == crd.Spec.Group && pr.Spec.Resource.Kind == crd.Spec.Names.Kind
	})
}

func (r *Reconciler) requestsFor(ctx context.Context, match func(syncagentv1alpha1.PublishedResource) bool) []reconcile.Request {
	prs, err := r.listOwn(ctx, nil)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "mapping an event to PublishedResources")
		return nil
	}
	var requests []reconcile.Request
	for _, pr := range prs {
		if match(pr) {
			requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&pr)})
		}
	}
	return requests
}
