package wildcard

import (
	"context"

	"fmt"
	"github.com/go-logr/logr"
	"net/http"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	kcpcache "github.com/kcp-dev/apimachinery/v2/pkg/cache"
	kcpinformers "github.com/kcp-dev/apimachinery/v2/third_party/informers"
)

// Options configure a Cache. Zero values are defaulted.
type Options struct {
	// Scheme maps Go types to kinds (default: client-go's scheme).
	Scheme *runtime.Scheme
	// HTTPClient is shared by every request to the endpoint (default: rest.HTTPClientFor(cfg)).
	HTTPClient *http.Client
	// Mapper is shared by every cluster of the endpoint (default: a lazy dynamic mapper on
	// DiscoveryCluster).
	Mapper meta.RESTMapper
	// DiscoveryCluster is the logical cluster or path whose discovery the default mapper reads
	// (default "*"): virtual workspaces serve discovery at /clusters/*, a kcp server does not,
	// so providers watching a kcp server pass a concrete workspace such as "root".
	DiscoveryCluster string
	// ResyncPeriod of the shared informers (default: none).
	ResyncPeriod time.Duration
	// Log receives list and watch errors of the shared informers (default: discarded).
	Log logr.Logger
	// NewListWatch builds the list/watch behind a shared informer (default: list and watch at
	// <url>/clusters/*). Tests and benchmarks replace it.
	NewListWatch func(gvk schema.GroupVersionKind, list client.ObjectList) (toolscache.ListerWatcher, error)
}

// Cache holds the shared informers of one wildcard endpoint.
type Cache struct {
	base     *rest.Config
	wildcard *rest.Config
	opts     Options
	// client lists and watches at <url>/clusters/*; building it up front also validates the
	// config that every cluster's clients are derived from.
	client client.WithWatch

	mu        sync.Mutex
	informers map[informerKey]*sharedInformer
	// indexes are the field indexes asked for, applied to current and future informers.
	indexes map[indexKey]toolscache.IndexFunc
	// runCtx is set by Start; informers created afterwards start right away.
	runCtx context.Context
}

type informerKey struct {
	gvk          schema.GroupVersionKind
	unstructured bool
}

type indexKey struct {
	informer informerKey
	field    string
}

// sharedInformer is a wildcard informer and its router.
type sharedInformer struct {
	informer   toolscache.SharedIndexInformer
	router     *router
	gvk        schema.GroupVersionKind
	namespaced bool
}

// New creates the cache for the endpoint at cfg.Host (a virtual workspace URL or a kcp server
// URL, without /clusters/...).
func New(cfg *rest.Config, opts Options) (*Cache, error) {
	c := &Cache{
		base:      rest.CopyConfig(cfg),
		wildcard:  ClusterConfig(cfg, "*"),
		informers: map[informerKey]*sharedInformer{},
		indexes:   map[indexKey]toolscache.IndexFunc{},
	}
	if err := c.defaultOptions(opts); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Cache) defaultOptions(opts Options) error {
	if opts.Scheme == nil {
		opts.Scheme = clientgoscheme.Scheme
	}
	if opts.HTTPClient == nil {
		httpClient, err := rest.HTTPClientFor(c.wildcard)
		if err != nil {
			return fmt.Errorf("creating HTTP client for %s: %w", c.wildcard.Host, err)
		}
		opts.HTTPClient = httpClient
	}
	if opts.Log.GetSink() == nil {
		opts.Log = logr.Discard()
	}
	if opts.DiscoveryCluster == "" {
		opts.DiscoveryCluster = "*"
	}
	if opts.Mapper == nil {
		discovery := ClusterConfig(c.base, opts.DiscoveryCluster)
		mapper, err := apiutil.NewDynamicRESTMapper(discovery, opts.HTTPClient)
		if err != nil {
			return fmt.Errorf("creating REST mapper for %s: %w", discovery.Host, err)
		}
		opts.Mapper = mapper
	}
	if opts.NewListWatch == nil {
		opts.NewListWatch = c.wildcardListWatch
	}
	c.opts = opts
	wildcardClient, err := client.NewWithWatch(c.wildcard, client.Options{
		Scheme: opts.Scheme, Mapper: opts.Mapper, HTTPClient: opts.HTTPClient,
	})
	if err != nil {
		return fmt.Errorf("creating client for %s: %w", c.wildcard.Host, err)
	}
	c.client = wildcardClient
	return nil
}

// ClusterConfig returns cfg addressed at one logical cluster, a workspace path or "*" below cfg's host.
func ClusterConfig(cfg *rest.Config, cluster string) *rest.Config {
	scoped := rest.CopyConfig(cfg)
	scoped.Host = strings.TrimSuffix(cfg.Host, "/") + "/clusters/" + cluster
	return scoped
}

// Scheme, HTTPClient and RESTMapper are shared by the clusters of the endpoint.
func (c *Cache) Scheme() *runtime.Scheme     { return c.opts.Scheme }
func (c *Cache) HTTPClient() *http.Client    { return c.opts.HTTPClient }
func (c *Cache) RESTMapper() meta.RESTMapper { return c.opts.Mapper }

// Start runs the informers created so far and every informer created later, until ctx ends.
func (c *Cache) Start(ctx context.Context) error {
	c.mu.Lock()
	if c.runCtx != nil {
		c.mu.Unlock()
		return fmt.Errorf("wildcard cache for %s already started", c.base.Host)
	}
	c.runCtx = ctx
	for _, inf := range c.informers {
		go inf.informer.RunWithContext(ctx)
	}
	c.mu.Unlock()
	<-ctx.Done()
	return nil
}

// informerFor returns the shared informer for obj's kind, creating (and, after Start, starting)
// it on first use.
func (c *Cache) informerFor(obj runtime.Object) (*sharedInformer, error) {
	key, err := c.keyFor(obj)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if inf, ok := c.informers[key]; ok {
		return inf, nil
	}
	inf, err := c.newSharedInformer(key)
	if err != nil {
		return nil, err
	}
	c.informers[key] = inf
	if c.runCtx != nil {
		go inf.informer.RunWithContext(c.runCtx)
	}
	return inf, nil
}

// AllClusters returns the shared informer for obj's kind itself, with every cluster's objects,
// for the provider's own bookkeeping. Controllers use a cluster's ScopedCache instead.
func (c *Cache) AllClusters(obj client.Object) (toolscache.SharedIndexInformer, error) {
	inf, err := c.informerFor(obj)
	if err != nil {
		return nil, err
	}
	return inf.informer, nil
}

// Probe lists at most one object of obj's kind across all clusters of the endpoint: a cheap
// request that tells whether the endpoint answers, and serves the kind.
func (c *Cache) Probe(ctx context.Context, obj client.Object) error {
	key, err := c.keyFor(obj)
	if err != nil {
		return err
	}
	_, list, err := c.newObjects(key)
	if err != nil {
		return err
	}
	return c.client.List(ctx, list, client.Limit(1))
}

// keyFor returns the kind (never a list kind) and the representation of obj.
func (c *Cache) keyFor(obj runtime.Object) (informerKey, error) {
	gvk, err := apiutil.GVKForObject(obj, c.opts.Scheme)
	if err != nil {
		return informerKey{}, err
	}
	gvk.Kind = strings.TrimSuffix(gvk.Kind, "List")
	switch obj.(type) {
	case runtime.Unstructured:
		return informerKey{gvk: gvk, unstructured: true}, nil
	case *metav1.PartialObjectMetadata, *metav1.PartialObjectMetadataList:
		return informerKey{}, fmt.Errorf("metadata-only objects (%s) are not supported by the wildcard cache", gvk)
	default:
		return informerKey{gvk: gvk}, nil
	}
}

func (c *Cache) newSharedInformer(key informerKey) (*sharedInformer, error) {
	mapping, err := c.opts.Mapper.RESTMapping(key.gvk.GroupKind(), key.gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("mapping %s: %w", key.gvk, err)
	}
	example, list, err := c.newObjects(key)
	if err != nil {
		return nil, err
	}
	lw, err := c.opts.NewListWatch(key.gvk, list)
	if err != nil {
		return nil, err
	}
	indexers := c.pendingIndexers(key)
	indexers[kcpcache.ClusterIndexName] = kcpcache.ClusterIndexFunc
	indexers[kcpcache.ClusterAndNamespaceIndexName] = kcpcache.ClusterAndNamespaceIndexFunc
	informer := kcpinformers.NewSharedIndexInformer(lw, example, c.opts.ResyncPeriod, indexers)
	if err := informer.SetWatchErrorHandlerWithContext(c.logWatchError); err != nil {
		return nil, err
	}
	r := newRouter(informer.GetIndexer())
	upstream, err := informer.AddEventHandler(r)
	if err != nil {
		return nil, err
	}
	r.upstream = upstream
	return &sharedInformer{
		informer:   informer,
		router:     r,
		gvk:        key.gvk,
		namespaced: mapping.Scope.Name() == meta.RESTScopeNameNamespace,
	}, nil
}

// logWatchError reports list and watch failures (a missing permission shows up here); the
// reflector retries with backoff on its own.
func (c *Cache) logWatchError(_ context.Context, r *toolscache.Reflector, err error) {
	kind := "unknown"
	if r != nil { // kcp's informer passes no reflector
		kind = r.TypeDescription()
	}
	c.opts.Log.Error(err, "list or watch failed; retrying", "url", c.wildcard.Host, "kind", kind)
}

// newObjects returns an empty object and list of the informer's kind and representation.
func (c *Cache) newObjects(key informerKey) (client.Object, client.ObjectList, error) {
	if key.unstructured {
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(key.gvk)
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(key.gvk.GroupVersion().WithKind(key.gvk.Kind + "List"))
		return obj, list, nil
	}
	obj, err := c.opts.Scheme.New(key.gvk)
	if err != nil {
		return nil, nil, err
	}
	list, err := c.opts.Scheme.New(key.gvk.GroupVersion().WithKind(key.gvk.Kind + "List"))
	if err != nil {
		return nil, nil, err
	}
	return obj.(client.Object), list.(client.ObjectList), nil
}

// wildcardListWatch lists and watches a kind across all logical clusters at <url>/clusters/*.
func (c *Cache) wildcardListWatch(_ schema.GroupVersionKind, list client.ObjectList) (toolscache.ListerWatcher, error) {
	cl := c.client
	return listWatchWithoutWatchList{&toolscache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			out := list.DeepCopyObject().(client.ObjectList)
			return out, cl.List(ctx, out, &client.ListOptions{Raw: &opts})
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return cl.Watch(ctx, list.DeepCopyObject().(client.ObjectList), &client.ListOptions{Raw: &opts})
		},
	}}, nil
}

// listWatchWithoutWatchList opts out of client-go's streaming watch-list, which kcp's virtual
// workspaces have been reported not to serve (kcp issue 3804); informers list, then watch.
type listWatchWithoutWatchList struct{ *toolscache.ListWatch }

func (listWatchWithoutWatchList) IsWatchListSemanticsUnSupported() bool { return true }
