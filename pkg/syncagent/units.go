package syncagent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
	mccontroller "sigs.k8s.io/multicluster-runtime/pkg/controller"
	mchandler "sigs.k8s.io/multicluster-runtime/pkg/handler"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"
	mcreconcile "sigs.k8s.io/multicluster-runtime/pkg/reconcile"
	mcsource "sigs.k8s.io/multicluster-runtime/pkg/source"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	bsync "github.com/bindery-dev/bindery/pkg/sync"
)

// syncUnits runs one sync controller per PublishedResource. A controller cannot be removed from
// a controller-runtime manager, so units run unmanaged, each under its own context: a changed
// PublishedResource stops its old unit before the new one starts, and no two ever run side by side.
// syncUnits is added to the multicluster manager, which engages it with every consumer cluster;
// it passes each engagement on to every unit.
type syncUnits struct {
	mgr mcmanager.Manager
	log logr.Logger

	mu       sync.Mutex
	runCtx   context.Context
	clusters map[multicluster.ClusterName]engagedCluster
	units    map[string]*unit
}

type engagedCluster struct {
	ctx     context.Context
	cluster cluster.Cluster
}

// unit is the running sync controller of one PublishedResource.
type unit struct {
	fingerprint string
	controller  mccontroller.Controller
	cancel      context.CancelFunc
	ctx         context.Context
}

var _ mcmanager.Runnable = &syncUnits{}

func newSyncUnits(mgr mcmanager.Manager, log logr.Logger) *syncUnits {
	return &syncUnits{
		mgr: mgr, log: log,
		clusters: map[multicluster.ClusterName]engagedCluster{},
		units:    map[string]*unit{},
	}
}

// Start records the manager's context, in which units run, and waits for it to end.
func (s *syncUnits) Start(ctx context.Context) error {
	s.mu.Lock()
	s.runCtx = ctx
	s.mu.Unlock()
	<-ctx.Done()
	return nil
}

// Engage passes a newly engaged consumer cluster on to every unit.
func (s *syncUnits) Engage(ctx context.Context, name multicluster.ClusterName, cl cluster.Cluster) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clusters[name] = engagedCluster{ctx: ctx, cluster: cl}
	context.AfterFunc(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if current, ok := s.clusters[name]; ok && current.ctx == ctx {
			delete(s.clusters, name)
		}
	})
	for _, u := range s.units {
		if err := engage(u, name, ctx, cl); err != nil {
			return err
		}
	}
	return nil
}

// engage engages a unit with a cluster for as long as both live.
func engage(u *unit, name multicluster.ClusterName, clusterCtx context.Context, cl cluster.Cluster) error {
	ctx, cancel := context.WithCancel(u.ctx)
	context.AfterFunc(clusterCtx, cancel)
	return u.controller.Engage(ctx, name, cl)
}

// unitConfig is everything a unit is built from; its hash decides whether a unit must be replaced.
type unitConfig struct {
	Name       string
	Kinds      bsync.Kinds
	Reconciler *bsync.Reconciler `json:"-"`
	Spec       any
}

// watchesRelated reports whether spec.related[].watch is on (the default) for an entry.
func (c unitConfig) watchesRelated(identifier string) bool {
	spec, ok := c.Spec.(syncagentv1alpha1.PublishedResourceSpec)
	if !ok {
		return true
	}
	for _, rel := range spec.Related {
		if rel.Identifier == identifier {
			return rel.Watch == nil || *rel.Watch
		}
	}
	return true
}

func (c unitConfig) fingerprint() string {
	data, _ := json.Marshal(c)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// ensure runs the unit for cfg, replacing a unit built from a different configuration.
func (s *syncUnits) ensure(cfg unitConfig) error {
	fp := cfg.fingerprint()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.runCtx == nil {
		return fmt.Errorf("the sync controllers are not running yet")
	}
	if u, ok := s.units[cfg.Name]; ok {
		if u.fingerprint == fp {
			return nil
		}
		s.log.Info("PublishedResource changed; replacing its sync controller", "publishedResource", cfg.Name)
		u.cancel()
		delete(s.units, cfg.Name)
	}
	u, err := s.newUnit(cfg, fp)
	if err != nil {
		return err
	}
	s.units[cfg.Name] = u
	for name, ec := range s.clusters {
		if err := engage(u, name, ec.ctx, ec.cluster); err != nil {
			return fmt.Errorf("engaging cluster %s: %w", name, err)
		}
	}
	s.log.Info("sync controller started", "publishedResource", cfg.Name, "consumerKind", cfg.Kinds.Source.String(), "providerKind", cfg.Kinds.Destination.String())
	return nil
}

// stop stops the unit of a PublishedResource, if any.
func (s *syncUnits) stop(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.units[name]; ok {
		u.cancel()
		delete(s.units, name)
		s.log.Info("sync controller stopped", "publishedResource", name)
	}
}

// newUnit builds and starts the controller of one PublishedResource: it watches the consumer
// kind in every engaged cluster and the provider-side copies, which lead back to their source.
// Callers hold s.mu.
func (s *syncUnits) newUnit(cfg unitConfig, fingerprint string) (*unit, error) {
	r := cfg.Reconciler
	ctrl, err := mccontroller.NewUnmanaged("sync-"+cfg.Reconciler.Agent+"-"+cfg.Name, s.mgr, mccontroller.Options{
		Reconciler: reconcile.TypedFunc[mcreconcile.Request](func(ctx context.Context, req mcreconcile.Request) (reconcile.Result, error) {
			after, err := r.Reconcile(ctx, req.ClusterName.String(), req.NamespacedName)
			return reconcile.Result{RequeueAfter: after}, err
		}),
		MaxConcurrentReconciles: syncWorkers,
		SkipNameValidation:      ptrTo(true),
	})
	if err != nil {
		return nil, err
	}
	consumerObj := &unstructured.Unstructured{}
	consumerObj.SetGroupVersionKind(cfg.Kinds.Source)
	if err := ctrl.MultiClusterWatch(mcsource.TypedKind(consumerObj, mchandler.TypedEnqueueRequestForObject[*unstructured.Unstructured]())); err != nil {
		return nil, err
	}
	copyObj := &unstructured.Unstructured{}
	copyObj.SetGroupVersionKind(cfg.Kinds.Destination)
	agent := r.Agent
	if err := ctrl.Watch(source.TypedKind(s.mgr.GetLocalManager().GetCache(), copyObj,
		handler.TypedEnqueueRequestsFromMapFunc(func(_ context.Context, c *unstructured.Unstructured) []mcreconcile.Request {
			owner, ok := bsync.OwnerOf(c)
			if !ok || owner.Agent != agent {
				return nil
			}
			return []mcreconcile.Request{{
				ClusterName: multicluster.ClusterName(owner.Source.Cluster),
				Request:     reconcile.Request{NamespacedName: client.ObjectKey{Namespace: owner.Source.Namespace, Name: owner.Source.Name}},
			}}
		}))); err != nil {
		return nil, err
	}
	for _, rel := range cfg.Reconciler.Related {
		if !cfg.watchesRelated(rel.Identifier) {
			continue
		}
		if err := s.watchRelated(ctrl, cfg, rel); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(s.runCtx)
	go func() {
		if err := ctrl.Start(ctx); err != nil {
			s.log.Error(err, "sync controller stopped", "publishedResource", cfg.Name)
		}
	}()
	return &unit{fingerprint: fingerprint, controller: ctrl, cancel: cancel, ctx: ctx}, nil
}

// watchRelated brings a primary object back when one of its related objects changes on the
// origin side: provider-side objects lead to the copies in their namespace, consumer-side objects
// to the consumer's objects in theirs.
func (s *syncUnits) watchRelated(ctrl mccontroller.Controller, cfg unitConfig, rel bsync.Related) error {
	agent := cfg.Reconciler.Agent
	if rel.Origin == bsync.FromDestination {
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(rel.DestinationGVK)
		local := s.mgr.GetLocalManager().GetCache()
		return ctrl.Watch(source.TypedKind(local, obj,
			handler.TypedEnqueueRequestsFromMapFunc(func(ctx context.Context, o *unstructured.Unstructured) []mcreconcile.Request {
				copies := &unstructured.UnstructuredList{}
				copies.SetGroupVersionKind(listKind(cfg.Kinds.Destination))
				if err := local.List(ctx, copies, client.InNamespace(o.GetNamespace()), client.MatchingLabels{bsync.AgentLabel: agent}); err != nil {
					return nil
				}
				var requests []mcreconcile.Request
				for i := range copies.Items {
					if owner, ok := bsync.OwnerOf(&copies.Items[i]); ok && owner.Agent == agent {
						requests = append(requests, requestFor(owner.Source))
					}
				}
				return requests
			})))
	}
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(rel.SourceGVK)
	return ctrl.MultiClusterWatch(mcsource.TypedKind(obj, func(name multicluster.ClusterName, cl cluster.Cluster) handler.TypedEventHandler[*unstructured.Unstructured, mcreconcile.Request] {
		return handler.TypedEnqueueRequestsFromMapFunc(func(ctx context.Context, o *unstructured.Unstructured) []mcreconcile.Request {
			primaries := &unstructured.UnstructuredList{}
			primaries.SetGroupVersionKind(listKind(cfg.Kinds.Source))
			if err := cl.GetCache().List(ctx, primaries, client.InNamespace(o.GetNamespace())); err != nil {
				return nil
			}
			requests := make([]mcreconcile.Request, 0, len(primaries.Items))
			for i := range primaries.Items {
				requests = append(requests, requestFor(bsync.SourceOf(name.String(), &primaries.Items[i])))
			}
			return requests
		})
	}))
}

func requestFor(source bsync.Source) mcreconcile.Request {
	return mcreconcile.Request{
		ClusterName: multicluster.ClusterName(source.Cluster),
		Request:     reconcile.Request{NamespacedName: client.ObjectKey{Namespace: source.Namespace, Name: source.Name}},
	}
}

func listKind(gvk schema.GroupVersionKind) schema.GroupVersionKind {
	return gvk.GroupVersion().WithKind(gvk.Kind + "List")
}

// clusterSources resolves consumer clusters through the multicluster manager.
type clusterSources struct {
	mgr mcmanager.Manager
}

func (c clusterSources) Cluster(ctx context.Context, name string) (client.Client, record.EventRecorder, error) {
	cl, err := c.mgr.GetCluster(ctx, multicluster.ClusterName(name))
	if err != nil {
		return nil, nil, err
	}
	return cl.GetClient(), cl.GetEventRecorderFor("bindery-syncagent"), nil
}

func ptrTo[T any](v T) *T { return &v }

// syncWorkers bounds the concurrent reconciles of one PublishedResource across all workspaces.
const syncWorkers = 16
