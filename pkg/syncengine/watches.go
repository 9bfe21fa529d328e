package syncengine

import (
	"context"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/source"
	mccontroller "sigs.k8s.io/multicluster-runtime/pkg/controller"
	mchandler "sigs.k8s.io/multicluster-runtime/pkg/handler"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"
	mcreconcile "sigs.k8s.io/multicluster-runtime/pkg/reconcile"
	mcsource "sigs.k8s.io/multicluster-runtime/pkg/source"
)

// watches sets up what brings a source object back to the sync controller.
type watches struct {
	ctrl        mccontroller.Controller
	r           *Reconciler
	destination cache.Cache
	log         logr.Logger
}

// clusterHandler builds an event handler for one engaged source cluster.
type clusterHandler = func(multicluster.ClusterName, cluster.Cluster) handler.TypedEventHandler[*unstructured.Unstructured, mcreconcile.Request]

func (w watches) all() error {
	sourceObj := &unstructured.Unstructured{}
	sourceObj.SetGroupVersionKind(w.r.Kinds.Source)
	if err := w.ctrl.MultiClusterWatch(mcsource.TypedKind(sourceObj, mchandler.TypedEnqueueRequestForObject[*unstructured.Unstructured]())); err != nil {
		return err
	}
	if err := w.copies(); err != nil {
		return err
	}
	if sel := w.r.NamespaceSelector; sel != nil {
		if err := w.ctrl.MultiClusterWatch(w.namespaceLabels(sel)); err != nil {
			return err
		}
	}
	for _, rel := range w.r.Related {
		if rel.Watch {
			if err := w.related(rel); err != nil {
				return err
			}
		}
		if err := w.relatedCopies(rel); err != nil {
			return err
		}
	}
	return nil
}

// copies leads a copy in the destination back to its source object. Another sync's copy (another
// source kind synced into the same destination kind) is not this controller's to read or delete;
// a legacy mark without a kind may be.
func (w watches) copies() error {
	copyObj := &unstructured.Unstructured{}
	copyObj.SetGroupVersionKind(w.r.Kinds.Destination)
	agent, kind := w.r.Agent, w.r.Kinds.Source.GroupKind()
	return w.ctrl.Watch(source.TypedKind(w.destination, copyObj,
		handler.TypedEnqueueRequestsFromMapFunc(func(_ context.Context, c *unstructured.Unstructured) []mcreconcile.Request {
			owner, ok := OwnerOf(c)
			if !ok || owner.Agent != agent || !owner.Source.OfKind(kind) {
				return nil
			}
			return []mcreconcile.Request{requestFor(owner.Source)}
		})))
}

// namespaceLabels watches the Namespaces of every source cluster for a sync with a namespace
// filter: when a namespace's labels change so that the filter's verdict on it changes, the sync's
// objects in that namespace, listed from the cluster's cache, are synced (now selected) or
// released (no longer selected).
func (w watches) namespaceLabels(sel labels.Selector) mcsource.TypedSource[client.Object, mcreconcile.Request] {
	kind := w.r.Kinds.Source
	return mcsource.TypedKind(&corev1.Namespace{}, mchandler.TypedEventHandlerFunc[*corev1.Namespace, mcreconcile.Request](
		func(name multicluster.ClusterName, cl cluster.Cluster) handler.TypedEventHandler[*corev1.Namespace, mcreconcile.Request] {
			return handler.TypedFuncs[*corev1.Namespace, mcreconcile.Request]{
				UpdateFunc: func(ctx context.Context, e event.TypedUpdateEvent[*corev1.Namespace], q workqueue.TypedRateLimitingInterface[mcreconcile.Request]) {
					if !SelectionChanged(sel, e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels()) {
						return
					}
					objects := &unstructured.UnstructuredList{}
					objects.SetGroupVersionKind(listKind(kind))
					if err := cl.GetCache().List(ctx, objects, client.InNamespace(e.ObjectNew.GetName())); err != nil {
						w.log.Error(err, "listing the objects of a namespace whose labels changed", "cluster", name, "namespace", e.ObjectNew.GetName())
						return
					}
					for i := range objects.Items {
						q.Add(requestFor(SourceOf(name.String(), kind.GroupKind(), &objects.Items[i])))
					}
				},
			}
		}))
}

// SelectionChanged reports whether a namespace filter's verdict on a namespace differs between its
// old and new labels.
func SelectionChanged(sel labels.Selector, oldLabels, newLabels map[string]string) bool {
	return sel.Matches(labels.Set(oldLabels)) != sel.Matches(labels.Set(newLabels))
}

// related brings a primary object back when one of its related objects changes on the origin
// side: destination-side objects lead to the copies in their namespace, source-side objects to
// the source objects in theirs. For entries whose objects live in another namespace
// (NamespaceTemplate), the reconciler's index says which primary objects expect them.
func (w watches) related(rel Related) error {
	if rel.Origin == FromDestination {
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(rel.DestinationGVK)
		return w.ctrl.Watch(source.TypedKind(w.destination, obj,
			handler.TypedEnqueueRequestsFromMapFunc(func(ctx context.Context, o *unstructured.Unstructured) []mcreconcile.Request {
				return w.primariesInDestination(ctx, rel, o)
			})))
	}
	return w.ctrl.MultiClusterWatch(w.sourceKind(rel, func(name multicluster.ClusterName, cl cluster.Cluster) handler.TypedEventHandler[*unstructured.Unstructured, mcreconcile.Request] {
		return handler.TypedEnqueueRequestsFromMapFunc(func(ctx context.Context, o *unstructured.Unstructured) []mcreconcile.Request {
			return w.primariesInSource(ctx, rel, name, cl, o)
		})
	}))
}

// primariesInDestination finds the source objects whose copies expect a destination-side related
// object o: those with copies in its namespace, or those the index names.
func (w watches) primariesInDestination(ctx context.Context, rel Related, o *unstructured.Unstructured) []mcreconcile.Request {
	if rel.NamespaceTemplate != nil {
		return requestsFor(w.r.PrimariesOf(RelatedObject{Identifier: rel.Identifier, Namespace: o.GetNamespace(), Name: o.GetName()}))
	}
	copies := &unstructured.UnstructuredList{}
	copies.SetGroupVersionKind(listKind(w.r.Kinds.Destination))
	if err := w.destination.List(ctx, copies, client.InNamespace(o.GetNamespace()), client.MatchingLabels{AgentLabel: w.r.Agent}); err != nil {
		return nil
	}
	var requests []mcreconcile.Request
	for i := range copies.Items {
		if owner, ok := OwnerOf(&copies.Items[i]); ok && owner.Agent == w.r.Agent && owner.Source.OfKind(w.r.Kinds.Source.GroupKind()) {
			requests = append(requests, requestFor(owner.Source))
		}
	}
	return requests
}

// primariesInSource finds the source objects of one cluster that expect a source-side related
// object o: those in its namespace, or those the index names.
func (w watches) primariesInSource(ctx context.Context, rel Related, name multicluster.ClusterName, cl cluster.Cluster, o *unstructured.Unstructured) []mcreconcile.Request {
	if rel.NamespaceTemplate != nil {
		return requestsFor(w.r.PrimariesOf(RelatedObject{Identifier: rel.Identifier, Cluster: name.String(), Namespace: o.GetNamespace(), Name: o.GetName()}))
	}
	primaries := &unstructured.UnstructuredList{}
	primaries.SetGroupVersionKind(listKind(w.r.Kinds.Source))
	if err := cl.GetCache().List(ctx, primaries, client.InNamespace(o.GetNamespace())); err != nil {
		return nil
	}
	requests := make([]mcreconcile.Request, 0, len(primaries.Items))
	for i := range primaries.Items {
		requests = append(requests, requestFor(SourceOf(name.String(), w.r.Kinds.Source.GroupKind(), &primaries.Items[i])))
	}
	return requests
}

// relatedCopies brings a primary object back when a copy of one of its related objects changes on
// the other side: its status flows back to the original (SyncStatus), and a copy someone edited or
// deleted is restored at once, not only when the primary object or the original changes next. The
// copies' ownership marks name the primary object; a copy in a source cluster leads only to a
// primary object of that cluster.
func (w watches) relatedCopies(rel Related) error {
	agent, kind := w.r.Agent, w.r.Kinds.Source.GroupKind()
	primaryOf := func(o *unstructured.Unstructured, cluster string) []mcreconcile.Request {
		if o.GetLabels()[RelatedLabel] != rel.Identifier {
			return nil
		}
		owner, ok := OwnerOf(o)
		if !ok || owner.Agent != agent || !owner.Source.OfKind(kind) || (cluster != "" && owner.Source.Cluster != cluster) {
			return nil
		}
		return []mcreconcile.Request{requestFor(owner.Source)}
	}
	if rel.Origin == FromSource {
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(rel.DestinationGVK)
		return w.ctrl.Watch(source.TypedKind(w.destination, obj,
			handler.TypedEnqueueRequestsFromMapFunc(func(_ context.Context, o *unstructured.Unstructured) []mcreconcile.Request {
				return primaryOf(o, "")
			})))
	}
	return w.ctrl.MultiClusterWatch(w.sourceKind(rel, func(name multicluster.ClusterName, _ cluster.Cluster) handler.TypedEventHandler[*unstructured.Unstructured, mcreconcile.Request] {
		return handler.TypedEnqueueRequestsFromMapFunc(func(_ context.Context, o *unstructured.Unstructured) []mcreconcile.Request {
			return primaryOf(o, name.String())
		})
	}))
}

// sourceKind watches a related kind in every source cluster. When the kind is not known up front
// (a renamed resource), it is discovered through the cluster's REST mapper when the cluster is
// engaged, and again with backoff while discovery does not know it yet, so that a resource the
// cluster does not serve yet neither fails the engagement nor loses the watch.
func (w watches) sourceKind(rel Related, newHandler clusterHandler) mcsource.TypedSource[client.Object, mcreconcile.Request] {
	return lazyKind{rel: rel, newHandler: newHandler, log: w.log}
}

type lazyKind struct {
	rel        Related
	newHandler clusterHandler
	log        logr.Logger
}

// kindRetryMax caps the backoff of discovering a related kind in a source cluster.
const kindRetryMax = time.Minute

func (k lazyKind) ForCluster(name multicluster.ClusterName, cl cluster.Cluster) (source.TypedSource[mcreconcile.Request], bool, error) {
	return source.TypedFunc[mcreconcile.Request](func(ctx context.Context, q workqueue.TypedRateLimitingInterface[mcreconcile.Request]) error {
		if gvk, err := k.rel.SourceKind(cl.GetRESTMapper()); err == nil {
			return k.start(ctx, name, cl, q, gvk)
		}
		go k.discover(ctx, name, cl, q)
		return nil
	}), true, nil
}

// discover waits with backoff until the cluster serves the related kind, then watches it.
func (k lazyKind) discover(ctx context.Context, name multicluster.ClusterName, cl cluster.Cluster, q workqueue.TypedRateLimitingInterface[mcreconcile.Request]) {
	delay := time.Second
	for {
		gvk, err := k.rel.SourceKind(cl.GetRESTMapper())
		if err == nil {
			if err := k.start(ctx, name, cl, q, gvk); err != nil && ctx.Err() == nil {
				k.log.Error(err, "watching a related kind failed", "related", k.rel.Identifier, "cluster", name)
			}
			return
		}
		k.log.V(1).Info("the related kind is not known in the source cluster yet", "related", k.rel.Identifier, "cluster", name, "error", err.Error())
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, kindRetryMax)
	}
}

func (k lazyKind) start(ctx context.Context, name multicluster.ClusterName, cl cluster.Cluster, q workqueue.TypedRateLimitingInterface[mcreconcile.Request], gvk schema.GroupVersionKind) error {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(gvk)
	src, _, err := mcsource.TypedKind(obj, mchandler.TypedEventHandlerFunc[*unstructured.Unstructured, mcreconcile.Request](k.newHandler)).ForCluster(name, cl)
	if err != nil {
		return err
	}
	return src.Start(ctx, q)
}
