package consumers

import (
	"context"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/services"
)

// serviceIndex indexes Consumers by the Services they bound.
const serviceIndex = "bind.bindery.dev/bound-service"

// SetupWithManager runs the reconciler in mgr (the provider cluster). What a Consumer owns brings
// it back when edited or deleted (a Role edited by hand is put back); a Service, a
// PublishedResource a Service selects, or the definition of its API (a CRD, an APIBinding) brings
// back every Consumer that bound the Service, so that its Role follows what the Service offers.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Client == nil {
		r.Client = mgr.GetClient()
	}
	r.APIs = services.Or(r.APIs, r.Client)
	if r.Recorder == nil {
		r.Recorder = mgr.GetEventRecorderFor("bindery-consumers")
	}
	err := mgr.GetFieldIndexer().IndexField(context.Background(), &bindv1alpha1.Consumer{}, serviceIndex, func(obj client.Object) []string {
		var names []string
		for _, s := range obj.(*bindv1alpha1.Consumer).Spec.Services {
			names = append(names, s.Name)
		}
		return names
	})
	if err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("consumers").
		For(&bindv1alpha1.Consumer{}).
		Owns(&corev1.Namespace{}).
		Owns(&corev1.ServiceAccount{}).
		Owns(&rbacv1.Role{}).
		Owns(&rbacv1.RoleBinding{}).
		Owns(&corev1.ResourceQuota{}).
		Owns(&bindv1alpha1.BoundAPI{}).
		// The konnector's heartbeat: its Lease in the Consumer's namespace.
		Watches(&coordinationv1.Lease{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, obj client.Object) []reconcile.Request {
			consumer, ok := strings.CutPrefix(obj.GetNamespace(), NamespacePrefix)
			if !ok || obj.GetName() != LeaseName {
				return nil
			}
			return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: consumer}}}
		})).
		Watches(&bindv1alpha1.Service{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
			return r.forServices(ctx, []string{obj.GetName()}, nil)
		})).
		Watches(&syncagentv1alpha1.PublishedResource{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
			names, err := services.ForLabels(ctx, r.Client, obj.GetLabels())
			return r.forServices(ctx, names, err)
		})).
		Watches(r.APIs.Source(), handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
			names, err := services.ForAPI(ctx, r.Client, r.APIs, obj)
			return r.forServices(ctx, names, err)
		})).
		Complete(r)
}

// forServices maps Services to the Consumers that bound them; err is that of finding the Services.
func (r *Reconciler) forServices(ctx context.Context, names []string, err error) []reconcile.Request {
	log := ctrl.LoggerFrom(ctx)
	if err != nil {
		log.Error(err, "mapping an event to Services")
		return nil
	}
	consumers := sets.New[string]()
	for _, name := range names {
		list := &bindv1alpha1.ConsumerList{}
		if err := r.Client.List(ctx, list, client.MatchingFields{serviceIndex: name}); err != nil {
			log.Error(err, "listing the Consumers of a Service", "service", name)
			return nil
		}
		for _, c := range list.Items {
			consumers.Insert(c.Name)
		}
	}
	requests := make([]reconcile.Request, 0, consumers.Len())
	for _, name := range sets.List(consumers) {
		requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKey{Name: name}})
	}
	return requests
}
