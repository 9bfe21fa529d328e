package syncagent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/event"
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
	"github.com/bindery-dev/bindery/pkg/syncengine"
)

// syncUnits runs one sync controller per PublishedResource. A controller cannot be removed from
// a controller-runtime manager, so units run unmanaged, each under its own context: a changed
// PublishedResource stops its old unit before the new one starts, and no two ever run side by side.
// syncUnits is added to the multicluster manager, which engages it with every consumer cluster;
// it passes each engagement on to every unit.
//
// A unit starts in the background: it first makes sure the provider cluster's caches it uses can
// be filled (a missing RBAC rule shows up here), then starts its controller. A unit that fails
// to start is stopped and kept as failed; ensure reports the failure and starts it again once its
// backoff has passed. notify tells the PublishedResource's reconciler when a unit is running or
// failed.
type syncUnits struct {
	mgr mcmanager.Manager
	log logr.Logger
	// reader reads the provider cluster without the cache, to find out why a cache cannot sync.
	reader client.Reader
	// cacheSyncTimeout bounds the wait for the provider-side caches of a starting unit.
	cacheSyncTimeout time.Duration
	// reconcileTimeout bounds each reconcile of a unit.
	reconcileTimeout time.Duration

	mu       sync.Mutex
	runCtx   context.Context
	notify   func(publishedResource string)
	clusters map[multicluster.ClusterName]engagedCluster
	units    map[string]*unit
}

type engagedCluster struct {
	ctx     context.Context
	cluster cluster.Cluster
}

// unit is the sync controller of one PublishedResource. Its state fields are guarded by
// syncUnits.mu.
type unit struct {
	fingerprint string
	controller  mccontroller.Controller
	cancel      context.CancelFunc
	ctx         context.Context
	// cached are the provider-side kinds the controller watches or reads from the cache (copies
	// and related objects); their caches must sync before it starts.
	cached []schema.GroupVersionKind
	// kinds are the kinds the unit syncs; done is closed when the unit has stopped.
	kinds syncengine.Kinds
	done  chan struct{}

	running bool
	// err is why the unit failed; its controller is stopped then, and retryAt says when ensure
	// may start it again. failures counts the failed starts of this configuration in a row.
	err      error
	failures int
	retryAt  time.Time
}

// unitState is what ensure found or did.
type unitState int

const (
	unitStarting unitState = iota
	unitRunning
	unitFailed
)

// unitStatus reports a unit's state; for a failed unit, the error and when it is started again.
type unitStatus struct {
	state   unitState
	err     error
	retryIn time.Duration
}

// Backoff between the starts of a sync controller that failed: doubling from the base, capped.
const (
	unitRetryBase = 2 * time.Second
	unitRetryMax  = 5 * time.Minute
)

func unitBackoff(failures int) time.Duration {
	d := unitRetryBase
	for i := 1; i < failures && d < unitRetryMax; i++ {
		d *= 2
	}
	return min(d, unitRetryMax)
}

// defaultCacheSyncTimeout is controller-runtime's default wait for a controller's caches.
const defaultCacheSyncTimeout = 2 * time.Minute

// defaultReconcileTimeout bounds one reconcile of a sync controller: a handful of requests, and
// at most the first sync of an informer for a kind it reads for the first time.
const defaultReconcileTimeout = time.Minute

var _ mcmanager.Runnable = &syncUnits{}

func newSyncUnits(mgr mcmanager.Manager, reader client.Reader, log logr.Logger) *syncUnits {
	return &syncUnits{
		mgr: mgr, reader: reader, log: log, cacheSyncTimeout: defaultCacheSyncTimeout, reconcileTimeout: defaultReconcileTimeout,
		clusters: map[multicluster.ClusterName]engagedCluster{},
		units:    map[string]*unit{},
	}
}

// setNotify sets the function that brings a PublishedResource back to its reconciler when its
// unit is running or failed.
func (s *syncUnits) setNotify(notify func(publishedResource string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notify = notify
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
		if u.err != nil {
			continue // failed and stopped; a restarted unit engages every cluster
		}
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
	Kinds      syncengine.Kinds
	Reconciler *syncengine.Reconciler `json:"-"`
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

// ensure runs the unit for cfg, replacing a unit built from a different configuration, and
// restarting a failed one once its backoff has passed. It does not wait for a new unit to start.
func (s *syncUnits) ensure(cfg unitConfig) (unitStatus, error) {
	fp := cfg.fingerprint()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.runCtx == nil {
		return unitStatus{}, fmt.Errorf("the sync controllers are not running yet")
	}
	failures := 0
	if u, ok := s.units[cfg.Name]; ok {
		switch {
		case u.fingerprint != fp:
			s.log.Info("PublishedResource changed; replacing its sync controller", "publishedResource", cfg.Name)
		case u.err == nil && u.running:
			return unitStatus{state: unitRunning}, nil
		case u.err == nil:
			return unitStatus{state: unitStarting}, nil
		case time.Now().Before(u.retryAt):
			return unitStatus{state: unitFailed, err: u.err, retryIn: time.Until(u.retryAt)}, nil
		default:
			failures = u.failures
			s.log.Info("restarting the sync controller that failed", "publishedResource", cfg.Name, "failures", failures)
		}
		u.cancel()
		delete(s.units, cfg.Name)
	}
	u, err := s.newUnit(cfg, fp)
	if err != nil {
		return unitStatus{}, err
	}
	u.failures = failures
	for name, ec := range s.clusters {
		if err := engage(u, name, ec.ctx, ec.cluster); err != nil {
			u.cancel()
			return unitStatus{}, fmt.Errorf("engaging cluster %s: %w", name, err)
		}
	}
	s.units[cfg.Name] = u
	go s.run(u, cfg)
	return unitStatus{state: unitStarting}, nil
}

// run starts a unit's controller once the provider-side caches it watches are synced, and runs it
// until the unit is stopped. A unit that fails is recorded as failed.
func (s *syncUnits) run(u *unit, cfg unitConfig) {
	defer close(u.done)
	err := s.warmUp(u.ctx, u.cached)
	if err == nil {
		s.mu.Lock()
		u.running = true
		s.mu.Unlock()
		s.log.Info("sync controller started", "publishedResource", cfg.Name, "consumerKind", cfg.Kinds.Source.String(), "providerKind", cfg.Kinds.Destination.String())
		s.notifyFor(cfg.Name)
		// The caches are synced: Start does not hold the controller's lock for long, so engaging
		// clusters meanwhile does not block.
		err = u.controller.Start(u.ctx)
	}
	if u.ctx.Err() != nil {
		return // stopped on purpose
	}
	if err == nil {
		err = fmt.Errorf("the controller stopped")
	}
	s.fail(u, cfg.Name, err)
}

// warmUp makes sure that the provider cluster's caches of the given kinds are filled. A kind the
// agent may not list fails at once with the API server's answer, rather than after a silent wait
// (or, for a kind that is only read, a reconcile that waits for ever on its cache).
func (s *syncUnits) warmUp(ctx context.Context, kinds []schema.GroupVersionKind) error {
	for _, gvk := range kinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(listKind(gvk))
		if err := s.reader.List(ctx, list, client.Limit(1)); err != nil {
			return fmt.Errorf("listing %s in the provider cluster: %w", gvk.GroupKind(), err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.cacheSyncTimeout)
	defer cancel()
	for _, gvk := range kinds {
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(gvk)
		if _, err := s.mgr.GetLocalManager().GetCache().GetInformer(ctx, obj); err != nil {
			return fmt.Errorf("the provider cluster's cache of %s did not sync within %s (can the agent list and watch it?): %w", gvk.GroupKind(), s.cacheSyncTimeout, err)
		}
	}
	return nil
}

// fail records that a unit failed, stops it and schedules its restart.
func (s *syncUnits) fail(u *unit, name string, err error) {
	s.mu.Lock()
	if s.units[name] != u {
		s.mu.Unlock()
		return
	}
	u.cancel()
	u.running, u.err = false, err
	u.failures++
	failures, backoff := u.failures, unitBackoff(u.failures)
	u.retryAt = time.Now().Add(backoff)
	s.mu.Unlock()
	s.log.Error(err, "sync controller failed; restarting it with backoff", "publishedResource", name, "failures", failures, "retryIn", backoff)
	s.notifyFor(name)
}

func (s *syncUnits) notifyFor(name string) {
	s.mu.Lock()
	notify := s.notify
	s.mu.Unlock()
	if notify != nil {
		notify(name)
	}
}

// stopWait bounds how long stop waits for a unit's reconciles to finish.
const stopWait = time.Minute

// stop stops the unit of a PublishedResource, if any, and waits until its reconciles have
// finished (so that none adds a finalizer afterwards). It returns the kinds the unit synced.
func (s *syncUnits) stop(name string) (syncengine.Kinds, bool) {
	s.mu.Lock()
	u, ok := s.units[name]
	if ok {
		u.cancel()
		delete(s.units, name)
	}
	s.mu.Unlock()
	if !ok {
		return syncengine.Kinds{}, false
	}
	select {
	case <-u.done:
	case <-time.After(stopWait):
		s.log.Info("the sync controller did not finish its reconciles in time", "publishedResource", name, "waited", stopWait)
	}
	s.log.Info("sync controller stopped", "publishedResource", name)
	return u.kinds, true
}

// Backoff between the attempts to sync an object that is blocked (syncengine.ErrBlocked): doubling
// from the base, capped, so that removing what blocks it lets the sync proceed on its own.
const (
	blockedRetryBase = time.Second
	blockedRetryMax  = 5 * time.Minute
)

// newUnit builds the controller of one PublishedResource, without starting it: it watches the
// consumer kind in every engaged cluster and the provider-side copies, which lead back to their
// source. Callers hold s.mu.
func (s *syncUnits) newUnit(cfg unitConfig, fingerprint string) (*unit, error) {
	r := cfg.Reconciler
	blocked := workqueue.NewTypedItemExponentialFailureRateLimiter[mcreconcile.Request](blockedRetryBase, blockedRetryMax)
	name := "sync-" + cfg.Reconciler.Agent + "-" + cfg.Name
	log := s.log.WithValues("controller", name, "publishedResource", cfg.Name)
	ctrl, err := mccontroller.NewUnmanaged(name, s.mgr, mccontroller.Options{
		// Errors of the unit's reconciles go to the agent's log, with the object they are about.
		Logger: log,
		LogConstructor: func(req *mcreconcile.Request) logr.Logger {
			if req == nil {
				return log
			}
			return log.WithValues("cluster", req.ClusterName, "namespace", req.Namespace, "name", req.Name)
		},
		// Reads through a cache wait for its informer to sync; one whose list keeps failing (a
		// claim the consumer did not accept, a missing RBAC rule) would hold a worker for ever.
		ReconciliationTimeout: s.reconcileTimeout,
		Reconciler: reconcile.TypedFunc[mcreconcile.Request](func(ctx context.Context, req mcreconcile.Request) (reconcile.Result, error) {
			after, err := r.Reconcile(ctx, req.ClusterName.String(), req.NamespacedName)
			if errors.Is(err, syncengine.ErrBlocked) {
				// The consumer was told by an event; nothing announces that the cause is gone.
				return reconcile.Result{RequeueAfter: blocked.When(req)}, nil
			}
			if err == nil {
				blocked.Forget(req)
			}
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
			owner, ok := syncengine.OwnerOf(c)
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
	if sel := cfg.Reconciler.NamespaceSelector; sel != nil {
		if err := ctrl.MultiClusterWatch(s.namespaceLabels(cfg.Kinds.Source, sel)); err != nil {
			return nil, err
		}
	}
	// Related objects are read (origin provider) or checked before they are written (origin
	// consumer) through the provider cluster's cache.
	cached := []schema.GroupVersionKind{cfg.Kinds.Destination}
	for _, rel := range cfg.Reconciler.Related {
		if !slices.Contains(cached, rel.DestinationGVK) {
			cached = append(cached, rel.DestinationGVK)
		}
		if !cfg.watchesRelated(rel.Identifier) {
			continue
		}
		if err := s.watchRelated(ctrl, cfg, rel); err != nil {
			return nil, err
		}
	}
	for _, rel := range cfg.Reconciler.Related {
		if rel.SyncStatus {
			if err := s.watchRelatedCopies(ctrl, cfg, rel); err != nil {
				return nil, err
			}
		}
	}
	ctx, cancel := context.WithCancel(s.runCtx)
	return &unit{fingerprint: fingerprint, controller: ctrl, cancel: cancel, ctx: ctx, cached: cached, kinds: cfg.Kinds, done: make(chan struct{})}, nil
}

// namespaceLabels watches the Namespaces of every consumer workspace for a unit with a namespace
// filter (spec.filter.namespace): when a namespace's labels change so that the filter's verdict on
// it changes, the unit's objects in that namespace, listed from the workspace's cache, are synced
// (now selected) or released (no longer selected).
func (s *syncUnits) namespaceLabels(kind schema.GroupVersionKind, sel labels.Selector) mcsource.TypedSource[client.Object, mcreconcile.Request] {
	return mcsource.TypedKind(&corev1.Namespace{}, mchandler.TypedEventHandlerFunc[*corev1.Namespace, mcreconcile.Request](
		func(name multicluster.ClusterName, cl cluster.Cluster) handler.TypedEventHandler[*corev1.Namespace, mcreconcile.Request] {
			return handler.TypedFuncs[*corev1.Namespace, mcreconcile.Request]{
				UpdateFunc: func(ctx context.Context, e event.TypedUpdateEvent[*corev1.Namespace], q workqueue.TypedRateLimitingInterface[mcreconcile.Request]) {
					if !selectionChanged(sel, e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels()) {
						return
					}
					objects := &unstructured.UnstructuredList{}
					objects.SetGroupVersionKind(listKind(kind))
					if err := cl.GetCache().List(ctx, objects, client.InNamespace(e.ObjectNew.GetName())); err != nil {
						s.log.Error(err, "listing the objects of a namespace whose labels changed", "cluster", name, "namespace", e.ObjectNew.GetName())
						return
					}
					for i := range objects.Items {
						q.Add(requestFor(syncengine.SourceOf(name.String(), &objects.Items[i])))
					}
				},
			}
		}))
}

// selectionChanged reports whether a namespace filter's verdict on a namespace differs between its
// old and new labels.
func selectionChanged(sel labels.Selector, oldLabels, newLabels map[string]string) bool {
	return sel.Matches(labels.Set(oldLabels)) != sel.Matches(labels.Set(newLabels))
}

// watchRelated brings a primary object back when one of its related objects changes on the
// origin side: provider-side objects lead to the copies in their namespace, consumer-side objects
// to the consumer's objects in theirs. For entries whose objects live in another namespace
// (object.template.namespace), the reconciler's index says which primary objects expect them.
func (s *syncUnits) watchRelated(ctrl mccontroller.Controller, cfg unitConfig, rel syncengine.Related) error {
	agent, r := cfg.Reconciler.Agent, cfg.Reconciler
	otherNamespace := rel.NamespaceTemplate != nil
	if rel.Origin == syncengine.FromDestination {
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(rel.DestinationGVK)
		local := s.mgr.GetLocalManager().GetCache()
		return ctrl.Watch(source.TypedKind(local, obj,
			handler.TypedEnqueueRequestsFromMapFunc(func(ctx context.Context, o *unstructured.Unstructured) []mcreconcile.Request {
				if otherNamespace {
					return requestsFor(r.PrimariesOf(syncengine.RelatedObject{Identifier: rel.Identifier, Namespace: o.GetNamespace(), Name: o.GetName()}))
				}
				copies := &unstructured.UnstructuredList{}
				copies.SetGroupVersionKind(listKind(cfg.Kinds.Destination))
				if err := local.List(ctx, copies, client.InNamespace(o.GetNamespace()), client.MatchingLabels{syncengine.AgentLabel: agent}); err != nil {
					return nil
				}
				var requests []mcreconcile.Request
				for i := range copies.Items {
					if owner, ok := syncengine.OwnerOf(&copies.Items[i]); ok && owner.Agent == agent {
						requests = append(requests, requestFor(owner.Source))
					}
				}
				return requests
			})))
	}
	return ctrl.MultiClusterWatch(s.consumerKind(rel, func(name multicluster.ClusterName, cl cluster.Cluster) handler.TypedEventHandler[*unstructured.Unstructured, mcreconcile.Request] {
		return handler.TypedEnqueueRequestsFromMapFunc(func(ctx context.Context, o *unstructured.Unstructured) []mcreconcile.Request {
			if otherNamespace {
				return requestsFor(r.PrimariesOf(syncengine.RelatedObject{Identifier: rel.Identifier, Cluster: name.String(), Namespace: o.GetNamespace(), Name: o.GetName()}))
			}
			primaries := &unstructured.UnstructuredList{}
			primaries.SetGroupVersionKind(listKind(cfg.Kinds.Source))
			if err := cl.GetCache().List(ctx, primaries, client.InNamespace(o.GetNamespace())); err != nil {
				return nil
			}
			requests := make([]mcreconcile.Request, 0, len(primaries.Items))
			for i := range primaries.Items {
				requests = append(requests, requestFor(syncengine.SourceOf(name.String(), &primaries.Items[i])))
			}
			return requests
		})
	}))
}

// watchRelatedCopies brings a primary object back when a copy of one of its related objects
// changes on the other side, so that its status flows back to the original (syncStatus). The
// copies' ownership marks name the primary object; a copy in a consumer workspace leads only to
// a primary object of that workspace.
func (s *syncUnits) watchRelatedCopies(ctrl mccontroller.Controller, cfg unitConfig, rel syncengine.Related) error {
	agent := cfg.Reconciler.Agent
	primaryOf := func(o *unstructured.Unstructured, cluster string) []mcreconcile.Request {
		if o.GetLabels()[syncengine.RelatedLabel] != rel.Identifier {
			return nil
		}
		owner, ok := syncengine.OwnerOf(o)
		if !ok || owner.Agent != agent || (cluster != "" && owner.Source.Cluster != cluster) {
			return nil
		}
		return []mcreconcile.Request{requestFor(owner.Source)}
	}
	if rel.Origin == syncengine.FromSource {
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(rel.DestinationGVK)
		return ctrl.Watch(source.TypedKind(s.mgr.GetLocalManager().GetCache(), obj,
			handler.TypedEnqueueRequestsFromMapFunc(func(_ context.Context, o *unstructured.Unstructured) []mcreconcile.Request {
				return primaryOf(o, "")
			})))
	}
	return ctrl.MultiClusterWatch(s.consumerKind(rel, func(name multicluster.ClusterName, _ cluster.Cluster) handler.TypedEventHandler[*unstructured.Unstructured, mcreconcile.Request] {
		return handler.TypedEnqueueRequestsFromMapFunc(func(_ context.Context, o *unstructured.Unstructured) []mcreconcile.Request {
			return primaryOf(o, name.String())
		})
	}))
}

// consumerKind watches a related kind in every consumer workspace. When the kind is not known
// up front (a renamed resource), it is discovered through the workspace's REST mapper when the
// workspace is engaged, and again with backoff while discovery does not know it yet, so that a
// resource the export does not serve yet neither fails the engagement nor loses the watch.
func (s *syncUnits) consumerKind(rel syncengine.Related, newHandler func(multicluster.ClusterName, cluster.Cluster) handler.TypedEventHandler[*unstructured.Unstructured, mcreconcile.Request]) mcsource.TypedSource[client.Object, mcreconcile.Request] {
	return lazyKind{rel: rel, newHandler: newHandler, log: s.log}
}

type lazyKind struct {
	rel        syncengine.Related
	newHandler func(multicluster.ClusterName, cluster.Cluster) handler.TypedEventHandler[*unstructured.Unstructured, mcreconcile.Request]
	log        logr.Logger
}

// kindRetryMax caps the backoff of discovering a related kind in a consumer workspace.
const kindRetryMax = time.Minute

func (k lazyKind) ForCluster(name multicluster.ClusterName, cl cluster.Cluster) (source.TypedSource[mcreconcile.Request], bool, error) {
	start := func(ctx context.Context, q workqueue.TypedRateLimitingInterface[mcreconcile.Request], gvk schema.GroupVersionKind) error {
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(gvk)
		src, _, err := mcsource.TypedKind(obj, mchandler.TypedEventHandlerFunc[*unstructured.Unstructured, mcreconcile.Request](k.newHandler)).ForCluster(name, cl)
		if err != nil {
			return err
		}
		return src.Start(ctx, q)
	}
	return source.TypedFunc[mcreconcile.Request](func(ctx context.Context, q workqueue.TypedRateLimitingInterface[mcreconcile.Request]) error {
		if gvk, err := k.rel.SourceKind(cl.GetRESTMapper()); err == nil {
			return start(ctx, q, gvk)
		}
		go func() {
			delay := time.Second
			for {
				gvk, err := k.rel.SourceKind(cl.GetRESTMapper())
				if err == nil {
					if err := start(ctx, q, gvk); err != nil && ctx.Err() == nil {
						k.log.Error(err, "watching a related kind failed", "related", k.rel.Identifier, "cluster", name)
					}
					return
				}
				k.log.V(1).Info("the related kind is not known in the consumer workspace yet", "related", k.rel.Identifier, "cluster", name, "error", err.Error())
				select {
				case <-ctx.Done():
					return
				case <-time.After(delay):
				}
				delay = min(2*delay, kindRetryMax)
			}
		}()
		return nil
	}), true, nil
}

func requestsFor(sources []syncengine.Source) []mcreconcile.Request {
	out := make([]mcreconcile.Request, 0, len(sources))
	for _, s := range sources {
		out = append(out, requestFor(s))
	}
	return out
}

func requestFor(source syncengine.Source) mcreconcile.Request {
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
	mgr    mcmanager.Manager
	events EventPolicy
}

func (c clusterSources) Cluster(ctx context.Context, name string) (client.Client, record.EventRecorder, error) {
	cl, err := c.mgr.GetCluster(ctx, multicluster.ClusterName(name))
	if err != nil {
		return nil, nil, err
	}
	return cl.GetClient(), c.events.Recorder(cl.GetEventRecorderFor("bindery-syncagent")), nil
}

func ptrTo[T any](v T) *T { return &v }

// syncWorkers bounds the concurrent reconciles of one PublishedResource across all workspaces.
const syncWorkers = 16
