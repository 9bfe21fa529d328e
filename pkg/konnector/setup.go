package konnector

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/syncengine"
)

// credentialIndex indexes ServiceBindings by their credential Secret, namespace/name.
const credentialIndex = "bind.bindery.dev/credential-secret"

// Backoff of a binding whose pass failed (the provider is unreachable, say): doubling from the
// base, capped, so that a provider that comes back is noticed within minutes.
const (
	retryBase = time.Second
	retryMax  = 5 * time.Minute
)

// bindingWorkers bounds the bindings reconciled at once.
const bindingWorkers = 4

// SetupWithManager runs the reconciler in the consumer cluster, whose manager mcmgr wraps with
// the consumer cluster engaged as ConsumerClusterName (the sync engine's one source cluster). A
// ServiceBinding comes back when it changes, when its credential Secret does, when one of its
// CRDs does (it becomes established, or is edited), and when its connection says so.
func (r *Reconciler) SetupWithManager(mcmgr mcmanager.Manager) error {
	mgr := mcmgr.GetLocalManager()
	r.defaults(mcmgr)
	err := mgr.GetFieldIndexer().IndexField(context.Background(), &bindv1alpha1.ServiceBinding{}, credentialIndex, func(obj client.Object) []string {
		ref := obj.(*bindv1alpha1.ServiceBinding).Spec.CredentialSecret
		return []string{ref.Namespace + "/" + ref.Name}
	})
	if err != nil {
		return err
	}
	if err := mgr.Add(r); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("servicebindings").
		For(&bindv1alpha1.ServiceBinding{}).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.forSecret)).
		Watches(&apiextensionsv1.CustomResourceDefinition{}, handler.EnqueueRequestsFromMapFunc(r.forCRD)).
		WatchesRawSource(source.Func(func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
			r.queue.Store(&q)
			return nil
		})).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: bindingWorkers,
			RateLimiter:             workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](retryBase, retryMax),
		}).
		Complete(r)
}

// defaults fills what the caller left out.
func (r *Reconciler) defaults(mcmgr mcmanager.Manager) {
	mgr := mcmgr.GetLocalManager()
	if r.Client == nil {
		r.Client = mgr.GetClient()
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	if r.Scheme == nil {
		r.Scheme = mgr.GetScheme()
	}
	if r.Recorder == nil {
		r.Recorder = mgr.GetEventRecorderFor("bindery-konnector")
	}
	if r.HeartbeatInterval == 0 {
		r.HeartbeatInterval = DefaultHeartbeatInterval
	}
	r.connections = map[string]*connection{}
	r.units = unitOptions{
		engine: mcmgr, consumer: mgr, sources: syncengine.ManagerSources(mcmgr, "bindery-konnector", nil),
		log: r.Log.WithName("sync"), notify: r.notify,
		reconcileTimeout: defaultReconcileTimeout, cacheSyncTimeout: defaultCacheSyncTimeout,
	}
}

// connectionOptions are what the reconciler's connections share.
func (r *Reconciler) connectionOptions() connectionOptions {
	return connectionOptions{
		scheme: r.Scheme, log: r.Log.WithName("connection"), holder: r.Holder,
		heartbeatInterval: r.HeartbeatInterval, notify: r.notify, units: r.units,
	}
}

// forSecret maps a Secret to the bindings whose credential it is.
func (r *Reconciler) forSecret(ctx context.Context, obj client.Object) []reconcile.Request {
	list := &bindv1alpha1.ServiceBindingList{}
	if err := r.Client.List(ctx, list, client.MatchingFields{credentialIndex: obj.GetNamespace() + "/" + obj.GetName()}); err != nil {
		r.Log.Error(err, "mapping a Secret to its ServiceBindings", "namespace", obj.GetNamespace(), "name", obj.GetName())
		return nil
	}
	return requestsFor(list.Items, func(bindv1alpha1.ServiceBinding) bool { return true })
}

// forCRD maps a CRD to the binding its BindingLabel names.
func (r *Reconciler) forCRD(ctx context.Context, obj client.Object) []reconcile.Request {
	value, ok := obj.GetLabels()[BindingLabel]
	if !ok {
		return nil
	}
	list := &bindv1alpha1.ServiceBindingList{}
	if err := r.Client.List(ctx, list); err != nil {
		r.Log.Error(err, "mapping a CRD to its ServiceBinding", "crd", obj.GetName())
		return nil
	}
	return requestsFor(list.Items, func(b bindv1alpha1.ServiceBinding) bool { return bindingLabelValue(b.Name) == value })
}

func requestsFor(items []bindv1alpha1.ServiceBinding, match func(bindv1alpha1.ServiceBinding) bool) []reconcile.Request {
	var requests []reconcile.Request
	for _, b := range items {
		if match(b) {
			requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKey{Name: b.Name}})
		}
	}
	return requests
}
