package syncagent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	mccontroller "sigs.k8s.io/multicluster-runtime/pkg/controller"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"

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

// unitBackoff is the wait before a sync controller that failed starts again.
var unitBackoff = syncengine.RestartBackoff

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
	return u.controller.Engage(engagementContext(u.ctx, clusterCtx), name, cl)
}

// engagementContext returns a context that ends when the unit or the cluster does. Its hook on the
// cluster's context is released when it ends, so that replacing units (every edit of a
// PublishedResource) does not pile hooks up on clusters that stay engaged.
func engagementContext(unitCtx, clusterCtx context.Context) context.Context {
	ctx, cancel := context.WithCancel(unitCtx)
	stop := context.AfterFunc(clusterCtx, cancel)
	context.AfterFunc(ctx, func() { stop() })
	return ctx
}

// unitConfig is everything a unit is built from; its hash decides whether a unit must be replaced.
type unitConfig struct {
	Name       string
	Kinds      syncengine.Kinds
	Reconciler *syncengine.Reconciler `json:"-"`
	Spec       any
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

// newUnit builds the sync controller of one PublishedResource, without starting it. Callers hold
// s.mu.
func (s *syncUnits) newUnit(cfg unitConfig, fingerprint string) (*unit, error) {
	name := "sync-" + cfg.Reconciler.Agent + "-" + cfg.Name
	ctrl, err := syncengine.NewController(s.mgr, cfg.Reconciler, syncengine.ControllerOptions{
		Name:             name,
		Logger:           s.log.WithValues("controller", name, "publishedResource", cfg.Name),
		DestinationCache: s.mgr.GetLocalManager().GetCache(),
		ReconcileTimeout: s.reconcileTimeout,
		Workers:          syncWorkers,
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(s.runCtx)
	return &unit{
		fingerprint: fingerprint, controller: ctrl, cancel: cancel, ctx: ctx,
		cached: cfg.Reconciler.CachedKinds(), kinds: cfg.Kinds, done: make(chan struct{}),
	}, nil
}

func listKind(gvk schema.GroupVersionKind) schema.GroupVersionKind {
	return gvk.GroupVersion().WithKind(gvk.Kind + "List")
}

// syncWorkers bounds the concurrent reconciles of one PublishedResource across all workspaces.
const syncWorkers = 16
