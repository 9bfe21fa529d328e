package workspaces

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/kcp-dev/logicalcluster/v3"
	"github.com/kcp-dev/sdk/apis/core"
	corev1alpha1 "github.com/kcp-dev/sdk/apis/core/v1alpha1"
	tenancyv1alpha1 "github.com/kcp-dev/sdk/apis/tenancy/v1alpha1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"

	"github.com/bindery-dev/bindery/providers/apiexport"
	"github.com/bindery-dev/bindery/providers/internal/fleet"
	"github.com/bindery-dev/bindery/providers/internal/wildcard"
)

var (
	_ multicluster.Provider         = &Provider{}
	_ multicluster.ProviderRunnable = &Provider{}
)

// Options configure the provider. Zero values are defaulted; empty filters match everything.
type Options struct {
	// Scheme knows the types controllers use (default: apiexport.DefaultScheme()).
	Scheme *runtime.Scheme
	// WorkspaceTypes keeps only workspaces of these types, written as <type's workspace
	// path>:<type name>, e.g. "root:universal".
	WorkspaceTypes []string
	// PathPrefix keeps only the workspace at this path and those below it, e.g. root:org.
	PathPrefix logicalcluster.Path
	// LabelSelector keeps only workspaces whose LogicalCluster object matches.
	LabelSelector labels.Selector
	// IncludeSystem also engages kcp's system:* logical clusters.
	IncludeSystem bool
	// Backoff paces retries while kcp does not serve yet.
	Backoff wait.Backoff
	// AllShards watches every shard of kcp instead of only the server cfg points at: the
	// provider reads the Shard objects of the root workspace through cfg (which must reach the
	// root shard) and watches /clusters/* at each shard's spec.baseURL with cfg's credentials,
	// adding and dropping shards as Shard objects come and go. The credentials must be valid
	// on every shard (a client certificate of kcp's common client CA, for example).
	AllShards bool
	// RewriteShardURL rewrites each shard's base URL, for shards that the provider reaches
	// through another address than the one they registered (default: unchanged).
	RewriteShardURL func(string) string
	// HealthInterval and HealthTimeout pace and bound the probe of each shard (default 5 s
	// each); OnShardHealthChange is called when a shard starts or stops answering.
	HealthInterval, HealthTimeout time.Duration
	OnShardHealthChange           func()
	Log                           logr.Logger
}

// Provider engages the Ready workspaces that pass the filters.
type Provider struct {
	cfg    *rest.Config
	opts   Options
	engine *fleet.Engine
}

// New returns a provider for the kcp server cfg points at. It always watches /clusters/*; a
// /clusters/<workspace> suffix of cfg.Host (default root) names the workspace whose discovery maps
// kinds to resources, so kinds that exist only through APIBindings elsewhere need a workspace
// that has them too.
func New(cfg *rest.Config, opts Options) (*Provider, error) {
	if opts.Scheme == nil {
		opts.Scheme = apiexport.DefaultScheme()
	}
	if opts.Log.GetSink() == nil {
		opts.Log = logr.Discard()
	}
	if opts.RewriteShardURL == nil {
		opts.RewriteShardURL = func(url string) string { return url }
	}
	base, workspace, err := splitClusterURL(cfg)
	if err != nil {
		return nil, err
	}
	engineOpts := fleet.Options{
		Scheme:           opts.Scheme,
		DiscoveryCluster: workspace,
		ObjectToWatch:    &corev1alpha1.LogicalCluster{},
		Accept:           Filter(opts),
		PathSource:       &corev1alpha1.LogicalCluster{},
		Backoff:          opts.Backoff,
		HealthInterval:   opts.HealthInterval,
		HealthTimeout:    opts.HealthTimeout,
		OnHealthChange:   opts.OnShardHealthChange,
		Log:              opts.Log,
	}
	if opts.AllShards {
		// Every shard maps kinds with the discovery of the workspace on the shard cfg points at.
		httpClient, err := rest.HTTPClientFor(base)
		if err != nil {
			return nil, err
		}
		if engineOpts.Mapper, err = apiutil.NewDynamicRESTMapper(wildcard.ClusterConfig(base, workspace), httpClient); err != nil {
			return nil, fmt.Errorf("mapping kinds with the discovery of %s: %w", workspace, err)
		}
	}
	engine, err := fleet.NewEngine(engineOpts)
	if err != nil {
		return nil, err
	}
	return &Provider{cfg: base, opts: opts, engine: engine}, nil
}

// splitClusterURL splits cfg.Host into the server (returned as a config) and the workspace of a
// /clusters/<workspace> suffix (default "root"), which serves as the discovery source.
func splitClusterURL(cfg *rest.Config) (*rest.Config, string, error) {
	base := rest.CopyConfig(cfg)
	u, err := url.Parse(cfg.Host)
	if err != nil {
		return nil, "", fmt.Errorf("parsing %s: %w", cfg.Host, err)
	}
	workspace := "root"
	if i := strings.Index(u.Path, "/clusters/"); i >= 0 {
		if rest := strings.Trim(u.Path[i+len("/clusters/"):], "/"); rest != "" && rest != "*" {
			workspace = rest
		}
		u.Path = u.Path[:i]
	}
	base.Host = u.String()
	return base, workspace, nil
}

// Filter returns the predicate the options describe: a Ready LogicalCluster of a wanted type,
// under the path prefix, matching the label selector.
func Filter(opts Options) func(client.Object) bool {
	return func(obj client.Object) bool {
		lc, ok := obj.(*corev1alpha1.LogicalCluster)
		if !ok || lc.Status.Phase != corev1alpha1.LogicalClusterPhaseReady {
			return false
		}
		name := logicalcluster.From(lc)
		if !opts.IncludeSystem && strings.HasPrefix(name.String(), "system:") {
			return false
		}
		if len(opts.WorkspaceTypes) > 0 && !slices.Contains(opts.WorkspaceTypes, lc.Annotations[tenancyv1alpha1.LogicalClusterTypeAnnotationKey]) {
			return false
		}
		if !opts.PathPrefix.Empty() && !underPath(logicalcluster.NewPath(lc.Annotations[core.LogicalClusterPathAnnotationKey]), opts.PathPrefix) {
			return false
		}
		return opts.LabelSelector == nil || opts.LabelSelector.Matches(labels.Set(lc.Labels))
	}
}

// underPath reports whether path is prefix or lies below it.
func underPath(path, prefix logicalcluster.Path) bool {
	p, pre := path.String(), prefix.String()
	return p == pre || strings.HasPrefix(p, pre+":")
}

// Start watches LogicalClusters and engages the matching ones until ctx ends.
func (p *Provider) Start(ctx context.Context, aware multicluster.Aware) error {
	if !p.opts.AllShards {
		p.engine.SetEndpoints(p.cfg, []string{p.cfg.Host})
		return p.engine.Run(ctx, aware)
	}
	if err := p.followShards(ctx); err != nil {
		return err
	}
	return p.engine.Run(ctx, aware)
}

// followShards watches the Shard objects of the root workspace and makes their base URLs the
// engine's endpoints.
func (p *Provider) followShards(ctx context.Context) error {
	shardCache, err := cache.New(wildcard.ClusterConfig(p.cfg, core.RootCluster.String()), cache.Options{Scheme: p.opts.Scheme})
	if err != nil {
		return fmt.Errorf("watching the Shards of the root workspace: %w", err)
	}
	informer, err := shardCache.GetInformer(ctx, &corev1alpha1.Shard{}, cache.BlockUntilSynced(false))
	if err != nil {
		return fmt.Errorf("watching the Shards of the root workspace: %w", err)
	}
	sync := func(any) {
		list := &corev1alpha1.ShardList{}
		if err := shardCache.List(ctx, list); err != nil {
			p.opts.Log.Error(err, "listing the Shards")
			return
		}
		var shards []*corev1alpha1.Shard
		for i := range list.Items {
			if list.Items[i].DeletionTimestamp.IsZero() {
				shards = append(shards, &list.Items[i])
			}
		}
		p.engine.SetEndpoints(p.cfg, ShardURLs(shards, p.opts.RewriteShardURL))
	}
	if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: sync, UpdateFunc: func(_, obj any) { sync(obj) }, DeleteFunc: sync,
	}); err != nil {
		return err
	}
	go func() {
		if err := shardCache.Start(ctx); err != nil {
			p.opts.Log.Error(err, "watching the Shards stopped")
		}
	}()
	return nil
}

// ShardURLs returns the shards' base URLs, rewritten, without duplicates, sorted.
func ShardURLs(shards []*corev1alpha1.Shard, rewrite func(string) string) []string {
	var urls []string
	for _, shard := range shards {
		if url := rewrite(strings.TrimSuffix(shard.Spec.BaseURL, "/")); url != "" && !slices.Contains(urls, url) {
			urls = append(urls, url)
		}
	}
	slices.Sort(urls)
	return urls
}

// Endpoints returns the base URLs of the shards (or the one server) the provider watches.
func (p *Provider) Endpoints() []string { return p.engine.Endpoints() }

// EndpointHealth returns, for every shard (or the one server) probed so far, whether it
// answers, since when, and how many workspaces are engaged there.
func (p *Provider) EndpointHealth() []apiexport.EndpointHealth { return p.engine.EndpointHealth() }

// Get returns an engaged workspace by logical cluster name or by path (root:org:team).
func (p *Provider) Get(ctx context.Context, name multicluster.ClusterName) (cluster.Cluster, error) {
	return p.engine.Get(ctx, name)
}

// ClusterNames returns the logical cluster names of the engaged workspaces.
func (p *Provider) ClusterNames() []multicluster.ClusterName {
	var names []multicluster.ClusterName
	for _, name := range p.engine.EngagedClusters() {
		names = append(names, multicluster.ClusterName(name))
	}
	return names
}

// IndexField indexes a field for every engaged workspace, current and future, once per kind.
func (p *Provider) IndexField(ctx context.Context, obj client.Object, field string, extract client.IndexerFunc) error {
	return p.engine.IndexField(ctx, obj, field, extract)
}
