package fleet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/kcp-dev/logicalcluster/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"

	"github.com/bindery-dev/bindery/providers/internal/wildcard"
)

// Options configure an Engine.
type Options struct {
	Scheme *runtime.Scheme
	// ObjectToWatch is the kind whose objects engage their logical cluster.
	ObjectToWatch client.Object
	// Accept decides whether a watched object engages its cluster (default: every object).
	Accept func(client.Object) bool
	// PathSource, if set, is a kind whose objects carry the kcp.io/path annotation of their
	// cluster (LogicalCluster); Get then also accepts workspace paths.
	PathSource client.Object
	// DiscoveryCluster is where endpoints read discovery (see wildcard.Options).
	DiscoveryCluster string
	// Mapper, if set, is shared by every endpoint instead of one discovery-backed mapper each
	// (shards other than the root shard do not serve the root workspace's discovery).
	Mapper meta.RESTMapper
	// Backoff paces retries while an endpoint does not serve yet.
	Backoff wait.Backoff
	// Workers reconcile engagement changes (default 2).
	Workers int
	// HealthInterval is how often each endpoint is probed with a one-object list of
	// ObjectToWatch (default 5 s), HealthTimeout how long a probe may take (default 5 s).
	HealthInterval, HealthTimeout time.Duration
	// OnHealthChange is called (without locks held) when an endpoint starts or stops answering.
	OnHealthChange func()
	Log            logr.Logger
}

// Engine tracks endpoints and the logical clusters engaged through them.
type Engine struct {
	opts  Options
	queue workqueue.TypedRateLimitingInterface[logicalcluster.Name]

	mu        sync.RWMutex
	endpoints map[string]*endpoint
	engaged   map[logicalcluster.Name]*engagedCluster
	indexes   []index
	paths     *pathIndex
	// runCtx and aware are set by Run.
	runCtx context.Context
	aware  multicluster.Aware
}

type engagedCluster struct {
	endpoint *endpoint
	cluster  *wildcard.Cluster
	cancel   context.CancelFunc
}

type index struct {
	obj     client.Object
	field   string
	extract client.IndexerFunc
}

// NewEngine returns an engine with defaulted options.
func NewEngine(opts Options) (*Engine, error) {
	if opts.ObjectToWatch == nil {
		return nil, errors.New("fleet: ObjectToWatch is required")
	}
	if opts.Accept == nil {
		opts.Accept = func(client.Object) bool { return true }
	}
	if opts.Backoff.Steps == 0 {
		opts.Backoff = wait.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 1 << 30, Cap: 30 * time.Second}
	}
	if opts.Workers == 0 {
		opts.Workers = 2
	}
	if opts.HealthInterval == 0 {
		opts.HealthInterval = 5 * time.Second
	}
	if opts.HealthTimeout == 0 {
		opts.HealthTimeout = 5 * time.Second
	}
	if opts.Log.GetSink() == nil {
		opts.Log = logr.Discard()
	}
	return &Engine{
		opts:      opts,
		queue:     workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[logicalcluster.Name](), workqueue.TypedRateLimitingQueueConfig[logicalcluster.Name]{Name: "bindery-provider"}),
		endpoints: map[string]*endpoint{},
		engaged:   map[logicalcluster.Name]*engagedCluster{},
		paths:     newPathIndex(),
	}, nil
}

// Run engages and disengages clusters until ctx ends; it blocks. Endpoints added before Run start
// now, later ones start when added.
func (e *Engine) Run(ctx context.Context, aware multicluster.Aware) error {
	e.mu.Lock()
	if e.runCtx != nil {
		e.mu.Unlock()
		return errors.New("fleet: engine already running")
	}
	e.runCtx, e.aware = ctx, aware
	for _, ep := range e.endpoints {
		ep.start(ctx)
	}
	e.mu.Unlock()

	go func() {
		<-ctx.Done()
		e.queue.ShutDown()
	}()
	var wg sync.WaitGroup
	for range e.opts.Workers {
		wg.Go(func() {
			for e.processNext(ctx) {
			}
		})
	}
	wg.Wait()
	return nil
}

// SetEndpoints makes the given URLs the set of endpoints: new ones start, missing ones stop and
// their clusters are disengaged.
func (e *Engine) SetEndpoints(cfg *rest.Config, urls []string) {
	want := map[string]bool{}
	for _, u := range urls {
		want[u] = true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for u, ep := range e.endpoints {
		if !want[u] {
			e.opts.Log.Info("endpoint gone; disengaging its clusters", "url", u)
			ep.stop()
			delete(e.endpoints, u)
			e.requeueClustersOf(ep)
		}
	}
	for u := range want {
		if _, ok := e.endpoints[u]; ok {
			continue
		}
		endpointCfg := rest.CopyConfig(cfg)
		endpointCfg.Host = u
		ep, err := newEndpoint(e, u, endpointCfg)
		if err != nil {
			e.opts.Log.Error(err, "cannot use endpoint")
			continue
		}
		e.endpoints[u] = ep
		e.opts.Log.Info("endpoint added", "url", u)
		if e.runCtx != nil {
			ep.start(e.runCtx)
		}
	}
}

// Endpoints returns the URLs of the current endpoints.
func (e *Engine) Endpoints() []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	urls := make([]string, 0, len(e.endpoints))
	for u := range e.endpoints {
		urls = append(urls, u)
	}
	return urls
}

// requeueClustersOf queues every engaged cluster of an endpoint; callers hold e.mu.
func (e *Engine) requeueClustersOf(ep *endpoint) {
	for name, ec := range e.engaged {
		if ec.endpoint == ep {
			e.queue.Add(name)
		}
	}
}

// Get returns an engaged cluster by logical cluster name or, when paths are known, by path.
func (e *Engine) Get(_ context.Context, name multicluster.ClusterName) (cluster.Cluster, error) {
	clusterName := logicalcluster.Name(name)
	if resolved, ok := e.paths.lookup(logicalcluster.NewPath(string(name))); ok {
		clusterName = resolved
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if ec, ok := e.engaged[clusterName]; ok {
		return ec.cluster, nil
	}
	return nil, fmt.Errorf("logical cluster %q: %w", name, multicluster.ErrClusterNotFound)
}

// IndexField adds a field index on every endpoint's shared informer, now and for endpoints added
// later; each (kind, field) is indexed once per endpoint, not once per cluster.
func (e *Engine) IndexField(ctx context.Context, obj client.Object, field string, extract client.IndexerFunc) error {
	e.mu.Lock()
	e.indexes = append(e.indexes, index{obj: obj, field: field, extract: extract})
	endpoints := make([]*endpoint, 0, len(e.endpoints))
	for _, ep := range e.endpoints {
		endpoints = append(endpoints, ep)
	}
	e.mu.Unlock()
	var errs []error
	for _, ep := range endpoints {
		if err := ep.cache.IndexField(ctx, obj, field, extract); err != nil {
			errs = append(errs, fmt.Errorf("endpoint %s: %w", ep.url, err))
		}
	}
	return errors.Join(errs...)
}

// EngagedClusters returns the names of the engaged clusters.
func (e *Engine) EngagedClusters() []logicalcluster.Name {
	e.mu.RLock()
	defer e.mu.RUnlock()
	names := make([]logicalcluster.Name, 0, len(e.engaged))
	for name := range e.engaged {
		names = append(names, name)
	}
	return names
}
