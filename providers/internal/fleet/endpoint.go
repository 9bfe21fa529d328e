package fleet

import (
	"context"
	"fmt"
	"time"

	"github.com/kcp-dev/logicalcluster/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kcpcache "github.com/kcp-dev/apimachinery/v2/pkg/cache"

	"github.com/bindery-dev/bindery/providers/internal/wildcard"
)

// endpoint is one wildcard URL with its shared informers.
type endpoint struct {
	engine *Engine
	url    string
	cache  *wildcard.Cache
	ctx    context.Context
	cancel context.CancelFunc
	// watched is set once the endpoint serves the watched kind.
	watched toolscache.SharedIndexInformer
	// health is the last probe's result, once probed; both guarded by engine.mu.
	health EndpointHealth
	probed bool
}

func newEndpoint(e *Engine, url string, cfg *rest.Config) (*endpoint, error) {
	cache, err := wildcard.New(cfg, wildcard.Options{
		Scheme: e.opts.Scheme, DiscoveryCluster: e.opts.DiscoveryCluster, Mapper: e.opts.Mapper, Log: e.opts.Log.WithValues("endpoint", url),
	})
	if err != nil {
		return nil, fmt.Errorf("endpoint %s: %w", url, err)
	}
	for _, idx := range e.indexes {
		if err := cache.IndexField(context.Background(), idx.obj, idx.field, idx.extract); err != nil {
			return nil, fmt.Errorf("endpoint %s: %w", url, err)
		}
	}
	return &endpoint{engine: e, url: url, cache: cache}, nil
}

// start runs the endpoint in the background until stop or ctx ends.
func (ep *endpoint) start(ctx context.Context) {
	ep.ctx, ep.cancel = context.WithCancel(ctx)
	go ep.run(ep.ctx)
	go ep.probeLoop(ep.ctx)
}

func (ep *endpoint) stop() {
	if ep.cancel != nil {
		ep.cancel()
	}
}

// run waits (with backoff) until the endpoint serves the watched kind, then watches it and starts
// the shared informers.
func (ep *endpoint) run(ctx context.Context) {
	opts := ep.engine.opts
	watched, ok := ep.informerWithRetry(ctx, opts.ObjectToWatch)
	if !ok {
		return
	}
	if _, err := watched.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { ep.engine.enqueueClusterOf(obj) },
		UpdateFunc: func(_, obj any) { ep.engine.enqueueClusterOf(obj) },
		DeleteFunc: func(obj any) { ep.engine.enqueueClusterOf(obj) },
	}); err != nil {
		opts.Log.Error(err, "watching the endpoint", "url", ep.url)
		return
	}
	if opts.PathSource != nil {
		paths, ok := ep.informerWithRetry(ctx, opts.PathSource)
		if !ok {
			return
		}
		if _, err := paths.AddEventHandler(ep.engine.paths.handler()); err != nil {
			opts.Log.Error(err, "watching paths at the endpoint", "url", ep.url)
		}
	}
	ep.engine.mu.Lock()
	ep.watched = watched
	ep.engine.mu.Unlock()
	if err := ep.cache.Start(ctx); err != nil {
		opts.Log.Error(err, "running the endpoint's informers", "url", ep.url)
	}
}

// informerWithRetry gets the shared informer for a kind, retrying with backoff while the endpoint
// does not serve it yet (an endpoint can be listed before its shard serves the export).
func (ep *endpoint) informerWithRetry(ctx context.Context, obj client.Object) (toolscache.SharedIndexInformer, bool) {
	backoff := ep.engine.opts.Backoff
	for {
		inf, err := ep.cache.AllClusters(obj)
		if err == nil {
			return inf, true
		}
		delay := backoff.Step()
		ep.engine.opts.Log.Info("endpoint does not serve the watched kind yet; retrying", "url", ep.url, "kind", fmt.Sprintf("%T", obj), "in", delay.String(), "error", err.Error())
		select {
		case <-ctx.Done():
			return nil, false
		case <-time.After(delay):
		}
	}
}

// accepts reports whether an object of the watched kind in the cluster passes Accept.
// Callers hold engine.mu (for reading ep.watched).
func (ep *endpoint) accepts(cluster logicalcluster.Name) bool {
	if ep.watched == nil {
		return false
	}
	objs, err := ep.watched.GetIndexer().ByIndex(kcpcache.ClusterIndexName, kcpcache.ClusterIndexKey(cluster))
	if err != nil {
		return false
	}
	for _, obj := range objs {
		if cobj, ok := obj.(client.Object); ok && ep.engine.opts.Accept(cobj) {
			return true
		}
	}
	return false
}

// enqueueClusterOf queues the logical cluster of a watched object for reconciliation.
func (e *Engine) enqueueClusterOf(obj any) {
	if tombstone, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	e.queue.Add(logicalcluster.From(accessor))
}
