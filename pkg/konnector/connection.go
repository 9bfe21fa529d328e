package konnector

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/restconfig"
	"github.com/bindery-dev/bindery/pkg/syncengine"
)

// bearer holds the token a connection shows the provider. Every request reads it, so a renewed
// token is used from the next request on, by every client and informer of the connection.
type bearer struct {
	current atomic.Pointer[heldToken]
}

// heldToken is a token in use and when the konnector got it (the issue time of a token whose
// JWT does not say).
type heldToken struct {
	token
	obtained time.Time
}

func (b *bearer) load() heldToken { return *b.current.Load() }

func (b *bearer) store(t token) { b.current.Store(&heldToken{token: t, obtained: time.Now()}) }

// wrap is the connection's rest.Config.WrapTransport.
func (b *bearer) wrap(next http.RoundTripper) http.RoundTripper {
	return bearerTransport{bearer: b, next: next}
}

type bearerTransport struct {
	bearer *bearer
	next   http.RoundTripper
}

// RoundTrip sends req with the current token; a RoundTripper must not change the request it was
// given, so it sends a copy.
func (t bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+t.bearer.load().value)
	return t.next.RoundTrip(req)
}

// connection is one binding's way to the provider: its credential, clients, a cache of the
// Consumer's namespace and the sync units that use them. It is built without touching the
// network; start begins the cache and the heartbeat once the provider has answered the
// credential.
type connection struct {
	binding   string
	namespace string
	endpoint  string
	bearer    *bearer
	// direct reads and writes the provider without a cache: probes, tokens, the Lease, and the
	// first list of a kind a starting unit will read.
	direct client.Client
	// cache holds the Consumer's namespace (BoundAPIs, copies, related objects); cached reads
	// through it and writes directly.
	cache  cache.Cache
	cached client.Client
	mapper meta.RESTMapper
	log    logr.Logger
	units  *unitSet

	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	started  bool
	watching bool
	beat     heartbeat
	// beatReported says that the first renewal's outcome was passed on to the reconciler.
	beatReported bool
	cacheEnded   chan struct{}
}

// connectionOptions are what every connection shares.
type connectionOptions struct {
	scheme            *runtime.Scheme
	log               logr.Logger
	holder            string
	heartbeatInterval time.Duration
	// notify brings the binding back to its reconciler.
	notify func(binding string)
	units  unitOptions
}

// newConnection builds the connection of binding to namespace on the provider with cred, under
// parent (the process's context).
func newConnection(parent context.Context, binding, namespace string, cred credential, o connectionOptions) (*connection, error) {
	b := &bearer{}
	b.store(cred.token)
	cfg := restconfig.WithDefaultRateLimit(cred.config)
	cfg.WrapTransport = b.wrap
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("building an HTTP client for %s: %w", cfg.Host, err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("building the provider's REST mapper: %w", err)
	}
	direct, err := client.New(cfg, client.Options{HTTPClient: httpClient, Scheme: o.scheme, Mapper: mapper})
	if err != nil {
		return nil, fmt.Errorf("building the provider client: %w", err)
	}
	c, err := cache.New(cfg, cache.Options{
		HTTPClient: httpClient, Scheme: o.scheme, Mapper: mapper,
		// The Consumer's Role reaches this namespace only; a cluster-wide informer would be refused.
		DefaultNamespaces: map[string]cache.Config{namespace: {}},
	})
	if err != nil {
		return nil, fmt.Errorf("building the cache of namespace %s: %w", namespace, err)
	}
	cached, err := client.New(cfg, client.Options{
		HTTPClient: httpClient, Scheme: o.scheme, Mapper: mapper,
		Cache: &client.CacheOptions{Reader: c, Unstructured: true},
	})
	if err != nil {
		return nil, fmt.Errorf("building the cached provider client: %w", err)
	}
	ctx, cancel := context.WithCancel(parent)
	conn := &connection{
		binding: binding, namespace: namespace, endpoint: cred.endpoint(), bearer: b,
		direct: direct, cache: c, cached: cached, mapper: mapper,
		log: o.log.WithValues("binding", binding, "provider", cfg.Host, "providerNamespace", namespace),
		ctx: ctx, cancel: cancel, cacheEnded: make(chan struct{}),
	}
	conn.units = newUnitSet(conn, o.units)
	return conn, nil
}

// kindOf resolves a provider-side resource to its kind through the provider's discovery, which
// every authenticated user may read.
func (c *connection) kindOf(gvr schema.GroupVersionResource) (schema.GroupVersionKind, error) {
	return c.mapper.KindFor(gvr)
}

// start begins the cache and the heartbeat, once.
func (c *connection) start(o connectionOptions) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return
	}
	c.started = true
	go func() {
		defer close(c.cacheEnded)
		if err := c.cache.Start(c.ctx); err != nil && c.ctx.Err() == nil {
			c.log.Error(err, "the provider cache stopped")
		}
	}()
	go c.heartbeatLoop(o)
}

// watchBoundAPIs waits (within ctx) until the cache has started and holds the namespace's
// BoundAPIs, and from then on brings the binding back whenever one changes. It waits once: later
// passes read what the cache has.
func (c *connection) watchBoundAPIs(ctx context.Context, notify func(string)) error {
	c.mu.Lock()
	watching := c.watching
	c.mu.Unlock()
	if watching {
		return nil
	}
	informer, err := c.cache.GetInformer(ctx, &bindv1alpha1.BoundAPI{})
	if err != nil {
		return fmt.Errorf("reading the BoundAPIs in namespace %s: %w", c.namespace, err)
	}
	if !c.cache.WaitForCacheSync(ctx) {
		return fmt.Errorf("the cache of the BoundAPIs in namespace %s did not fill: %w", c.namespace, ctx.Err())
	}
	requeue := func(any) { notify(c.binding) }
	if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: requeue, DeleteFunc: requeue, UpdateFunc: func(_, _ any) { notify(c.binding) },
	}); err != nil {
		return fmt.Errorf("watching the BoundAPIs in namespace %s: %w", c.namespace, err)
	}
	c.mu.Lock()
	c.watching = true
	c.mu.Unlock()
	return nil
}

// stop stops the units (waiting for their reconciles), then the heartbeat and cache, and
// returns the kinds the units synced.
func (c *connection) stop() []syncengine.Kinds {
	kinds := c.units.stopAll()
	c.cancel()
	c.mu.Lock()
	started := c.started
	c.mu.Unlock()
	if started {
		<-c.cacheEnded
	}
	c.log.Info("disconnected from the provider")
	return kinds
}
