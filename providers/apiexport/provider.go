package apiexport

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	apisv1alpha1 "github.com/kcp-dev/sdk/apis/apis/v1alpha1"
	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	corev1alpha1 "github.com/kcp-dev/sdk/apis/core/v1alpha1"
	conditionsv1alpha1 "github.com/kcp-dev/sdk/apis/third_party/conditions/apis/conditions/v1alpha1"
	"github.com/kcp-dev/sdk/apis/third_party/conditions/util/conditions"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"

	"github.com/bindery-dev/bindery/providers/internal/fleet"
)

var (
	_ multicluster.Provider         = &Provider{}
	_ multicluster.ProviderRunnable = &Provider{}
)

// Options configure the provider. Zero values are defaulted.
type Options struct {
	// Scheme knows the types controllers use (default: client-go's scheme plus kcp's apis and
	// core types).
	Scheme *runtime.Scheme
	// ObjectToWatch is the kind, seen through the virtual workspace, whose objects engage their
	// logical cluster (default: apis.kcp.io/v1alpha2 APIBinding).
	ObjectToWatch client.Object
	// IsReady decides whether a watched object engages its cluster (default: for APIBindings, the
	// Ready condition is True; for other kinds, always).
	IsReady func(client.Object) bool
	// RewriteEndpointURL rewrites each endpoint URL of the slice, e.g. to reach shards through a
	// front-proxy address (default: unchanged).
	RewriteEndpointURL func(string) string
	// ResolvePaths makes Get accept workspace paths (root:org:team) besides logical cluster names.
	// It watches LogicalCluster objects through the virtual workspace, so the export must claim
	// logicalclusters.core.kcp.io with get, list and watch, and consumers must accept the claim.
	ResolvePaths bool
	// Backoff paces retries while an endpoint does not serve yet (default: 0.5 s doubling to 30 s).
	Backoff wait.Backoff
	// HealthInterval is how often each endpoint is probed (a one-object list of ObjectToWatch,
	// default 5 s); HealthTimeout bounds a probe (default 5 s). See EndpointHealth.
	HealthInterval, HealthTimeout time.Duration
	// OnEndpointHealthChange is called when an endpoint starts or stops answering, for example
	// to report it in a condition (default: nothing).
	OnEndpointHealthChange func()
	// Log receives the provider's log lines (default: discarded).
	Log logr.Logger
}

// EndpointHealth is what the last probe of one endpoint found: whether it answers, the last
// error, since when, and how many clusters are engaged through it.
type EndpointHealth = fleet.EndpointHealth

// Provider engages the logical clusters that bind one APIExport.
type Provider struct {
	cfg       *rest.Config
	sliceName string
	opts      Options
	engine    *fleet.Engine
}

// New returns a provider for the APIExportEndpointSlice named endpointSliceName in the workspace
// cfg points at (cfg.Host ends in /clusters/<workspace>).
func New(cfg *rest.Config, endpointSliceName string, opts Options) (*Provider, error) {
	if endpointSliceName == "" {
		return nil, fmt.Errorf("apiexport: the endpoint slice name is required")
	}
	defaultOptions(&opts)
	engineOpts := fleet.Options{
		Scheme:         opts.Scheme,
		ObjectToWatch:  opts.ObjectToWatch,
		Accept:         opts.IsReady,
		Backoff:        opts.Backoff,
		HealthInterval: opts.HealthInterval,
		HealthTimeout:  opts.HealthTimeout,
		OnHealthChange: opts.OnEndpointHealthChange,
		Log:            opts.Log,
	}
	if opts.ResolvePaths {
		engineOpts.PathSource = &corev1alpha1.LogicalCluster{}
	}
	engine, err := fleet.NewEngine(engineOpts)
	if err != nil {
		return nil, err
	}
	return &Provider{cfg: rest.CopyConfig(cfg), sliceName: endpointSliceName, opts: opts, engine: engine}, nil
}

func defaultOptions(opts *Options) {
	if opts.Scheme == nil {
		opts.Scheme = DefaultScheme()
	}
	if opts.ObjectToWatch == nil {
		opts.ObjectToWatch = &apisv1alpha2.APIBinding{}
	}
	if opts.IsReady == nil {
		opts.IsReady = IsReadyAPIBinding
	}
	if opts.RewriteEndpointURL == nil {
		opts.RewriteEndpointURL = func(url string) string { return url }
	}
	if opts.Log.GetSink() == nil {
		opts.Log = logr.Discard()
	}
}

// DefaultScheme is client-go's scheme plus kcp's apis.kcp.io and core.kcp.io types.
func DefaultScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(apisv1alpha1.AddToScheme(s))
	utilruntime.Must(apisv1alpha2.AddToScheme(s))
	utilruntime.Must(corev1alpha1.AddToScheme(s))
	return s
}

// IsReadyAPIBinding accepts APIBindings whose Ready condition is True, and any other object.
func IsReadyAPIBinding(obj client.Object) bool {
	binding, ok := obj.(*apisv1alpha2.APIBinding)
	if !ok {
		return true
	}
	return conditions.IsTrue(binding, conditionsv1alpha1.ReadyCondition)
}

// Start follows the endpoint slice and engages clusters with aware until ctx ends.
func (p *Provider) Start(ctx context.Context, aware multicluster.Aware) error {
	sliceCache, err := cache.New(p.cfg, cache.Options{
		Scheme: p.opts.Scheme,
		ByObject: map[client.Object]cache.ByObject{
			&apisv1alpha1.APIExportEndpointSlice{}: {Field: fields.OneTermEqualSelector("metadata.name", p.sliceName)},
		},
	})
	if err != nil {
		return fmt.Errorf("watching APIExportEndpointSlice %s: %w", p.sliceName, err)
	}
	informer, err := sliceCache.GetInformer(ctx, &apisv1alpha1.APIExportEndpointSlice{}, cache.BlockUntilSynced(false))
	if err != nil {
		return fmt.Errorf("watching APIExportEndpointSlice %s: %w", p.sliceName, err)
	}
	if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { p.syncEndpoints(obj) },
		UpdateFunc: func(_, obj any) { p.syncEndpoints(obj) },
		DeleteFunc: func(any) { p.engine.SetEndpoints(p.cfg, nil) },
	}); err != nil {
		return err
	}
	go func() {
		if err := sliceCache.Start(ctx); err != nil {
			p.opts.Log.Error(err, "watching the endpoint slice stopped", "slice", p.sliceName)
		}
	}()
	return p.engine.Run(ctx, aware)
}

// syncEndpoints makes the slice's endpoint URLs the provider's endpoints.
func (p *Provider) syncEndpoints(obj any) {
	slice, ok := obj.(*apisv1alpha1.APIExportEndpointSlice)
	if !ok {
		return
	}
	p.engine.SetEndpoints(p.cfg, EndpointURLs(slice, p.opts.RewriteEndpointURL))
}

// EndpointURLs returns the slice's endpoint URLs, rewritten, without duplicates, in order.
func EndpointURLs(slice *apisv1alpha1.APIExportEndpointSlice, rewrite func(string) string) []string {
	seen := map[string]bool{}
	var urls []string
	for _, endpoint := range slice.Status.APIExportEndpoints {
		url := rewrite(endpoint.URL)
		if url == "" || seen[url] {
			continue
		}
		seen[url] = true
		urls = append(urls, url)
	}
	return urls
}

// Get returns an engaged cluster by logical cluster name, or by workspace path with ResolvePaths.
// Unknown clusters yield an error wrapping multicluster.ErrClusterNotFound.
func (p *Provider) Get(ctx context.Context, name multicluster.ClusterName) (cluster.Cluster, error) {
	return p.engine.Get(ctx, name)
}

// IndexField indexes a field for every engaged cluster, current and future; it is added once per
// endpoint and kind, not once per cluster.
func (p *Provider) IndexField(ctx context.Context, obj client.Object, field string, extract client.IndexerFunc) error {
	return p.engine.IndexField(ctx, obj, field, extract)
}

// Endpoints returns the virtual workspace URLs the provider currently watches.
func (p *Provider) Endpoints() []string { return p.engine.Endpoints() }

// EndpointHealth returns, for every endpoint probed so far, whether it answers: a shard that is
// down or cut off keeps its clusters engaged (they catch up when it is back) and shows here.
func (p *Provider) EndpointHealth() []EndpointHealth { return p.engine.EndpointHealth() }
