package manager

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/kcp-dev/logicalcluster/v3"
	corev1alpha1 "github.com/kcp-dev/sdk/apis/core/v1alpha1"
	tenancyv1alpha1 "github.com/kcp-dev/sdk/apis/tenancy/v1alpha1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrlmanager "sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"

	catalogv1alpha1 "github.com/bindery-dev/bindery/apis/catalog/v1alpha1"
	inventoryv1alpha1 "github.com/bindery-dev/bindery/apis/inventory/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/catalog"
	"github.com/bindery-dev/bindery/pkg/kcpconfig"
	"github.com/bindery-dev/bindery/pkg/restconfig"
	"github.com/bindery-dev/bindery/providers/apiexport"
	"github.com/bindery-dev/bindery/providers/workspaces"
)

// Options configure bindery-manager.
type Options struct {
	// Config reaches kcp as an identity that may create the catalog workspace and write to it.
	// Workspaces created by kcp's shard admin never finish initializing (kcp records no owner for
	// it), so this is a regular identity.
	Config *rest.Config
	// FleetConfig reaches kcp with the right to list and watch across all workspaces at
	// /clusters/* (default: Config).
	FleetConfig *rest.Config
	// CatalogWorkspace is where the catalog lives (created if missing), e.g. root:catalog.
	CatalogWorkspace logicalcluster.Path
	// LeaderElection lets several replicas run, one active; the lease lives in the catalog
	// workspace's default namespace.
	LeaderElection bool
	// MetricsBindAddress and HealthProbeBindAddress; "0" disables. /readyz answers 200 on a
	// standby replica, and on the leader once its start-up pass is done (see Ready).
	MetricsBindAddress     string
	HealthProbeBindAddress string
	// PprofBindAddress serves Go's profiling endpoints; empty or "0" disables them.
	PprofBindAddress string
	// SkipControllerNameValidation lets several managers run in one process (tests). Controller
	// names are unique per process otherwise, so that their metrics are.
	SkipControllerNameValidation bool
	// AllShards watches every shard of kcp (workspaces.Options.AllShards): FleetConfig must
	// reach the root shard and be valid on every shard. RewriteShardURL maps the shards' base
	// URLs to the addresses the manager reaches them at (default: unchanged).
	AllShards       bool
	RewriteShardURL func(string) string
	// ShardHealthInterval is how often each shard is probed for /readyz's shards check
	// (default 5 s).
	ShardHealthInterval time.Duration
	Log                 logr.Logger
}

// Run runs the manager until ctx ends.
func Run(ctx context.Context, opts Options) error {
	if opts.Config == nil || opts.CatalogWorkspace.Empty() {
		return fmt.Errorf("a kcp config and a catalog workspace are required")
	}
	scheme := newScheme()
	server, err := kcpconfig.Server(restconfig.WithDefaultRateLimit(opts.Config))
	if err != nil {
		return err
	}
	catalogConfig, err := ensureCatalogWorkspace(ctx, server, scheme, opts.CatalogWorkspace)
	if err != nil {
		return err
	}
	catalogClient, err := client.New(catalogConfig, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	fleetConfig := server
	if opts.FleetConfig != nil {
		fleetConfig = restconfig.WithDefaultRateLimit(opts.FleetConfig)
	}
	fleetOptions := workspaces.Options{
		Scheme: scheme, AllShards: opts.AllShards, RewriteShardURL: opts.RewriteShardURL,
		HealthInterval: opts.ShardHealthInterval, Log: opts.Log.WithName("workspaces"),
	}
	fleet, err := workspaces.New(fleetConfig, fleetOptions)
	if err != nil {
		return err
	}
	shardURLs := func() []string { return nil } // the fleet config's server only
	if opts.AllShards {
		shardURLs = fleet.Endpoints
	}
	listWorkspaces, err := workspaceLister(fleetConfig, shardURLs, scheme, workspaces.Filter(fleetOptions))
	if err != nil {
		return err
	}
	mgr, err := mcmanager.New(catalogConfig, fleet, ctrlmanager.Options{
		Scheme:                  scheme,
		Logger:                  opts.Log,
		LeaderElection:          opts.LeaderElection,
		LeaderElectionID:        "bindery-manager",
		LeaderElectionNamespace: "default",
		// Run returns when the manager stops and the process exits, so the lease may be handed
		// over at once instead of after its expiry.
		LeaderElectionReleaseOnCancel: true,
		Metrics:                       metricsserver.Options{BindAddress: opts.MetricsBindAddress},
		HealthProbeBindAddress:        opts.HealthProbeBindAddress,
		PprofBindAddress:              opts.PprofBindAddress,
		Controller:                    config.Controller{SkipNameValidation: &opts.SkipControllerNameValidation},
	})
	if err != nil {
		return err
	}
	if err := mgr.GetLocalManager().AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	reconciler := &catalog.Reconciler{
		Clusters:   fleetClusters{mgr: mgr, fleet: fleet},
		Catalog:    catalogClient,
		Inventory:  &catalog.Inventory{ExportPath: opts.CatalogWorkspace, ExportName: InventoryExport, Scheme: scheme},
		Workspaces: listWorkspaces,
		Log:        opts.Log.WithName("catalog"),
	}
	if err := catalog.Setup(ctx, mgr, reconciler); err != nil {
		return fmt.Errorf("setting up the catalog controller: %w", err)
	}
	if err := mgr.GetLocalManager().AddReadyzCheck("catalog", readiness(mgr.GetLocalManager().Elected(), reconciler.Ready)); err != nil {
		return err
	}
	if err := mgr.GetLocalManager().AddReadyzCheck("shards", shardsAnswer(fleet.EndpointHealth, opts.Log.WithName("readyz"))); err != nil {
		return err
	}
	opts.Log.Info("bindery-manager running", "catalog", opts.CatalogWorkspace.String())
	return mgr.Start(ctx)
}

// readiness is the /readyz check. The health probe server starts only once the catalog workspace
// is set up, so it never answers before that. Then:
//   - a standby replica (not elected) is ready: it can take over, and it serves nothing until then;
//   - the leader is ready once the catalog's start-up pass is done: every workspace of the fleet
//     engaged, its caches synced, and the entries of exports that went away while no manager ran
//     removed (catalog.Reconciler.Ready).
func readiness(elected <-chan struct{}, caughtUp func() bool) healthz.Checker {
	return func(*http.Request) error {
		select {
		case <-elected:
		default:
			return nil
		}
		if !caughtUp() {
			return errors.New("the leader is catching up with the fleet")
		}
		return nil
	}
}

// shardsAnswer is the /readyz check "shards": it fails while a shard the fleet watches does not
// answer, naming the shard, since when and the error (in the log and in the check's error; the
// probe endpoint itself answers only "[-]shards failed"). The catalog keeps counting the other
// shards' workspaces meanwhile, and those of the unreachable shard as last seen.
func shardsAnswer(health func() []apiexport.EndpointHealth, log logr.Logger) healthz.Checker {
	return func(*http.Request) error {
		var down []string
		for _, shard := range health() {
			if !shard.Reachable {
				down = append(down, fmt.Sprintf("shard %s has not answered since %s (%d workspaces engaged there, counted as last seen): %v",
					shard.URL, shard.Since.UTC().Format(time.RFC3339), shard.Clusters, shard.Err))
			}
		}
		if len(down) == 0 {
			return nil
		}
		err := errors.New(strings.Join(down, "; ") + "; check that the shard runs and that the manager reaches it there (--shard-url-rewrite maps registered addresses to reachable ones)")
		log.Info("not ready: a shard does not answer", "detail", err.Error())
		return err
	}
}

// workspaceLister lists the fleet's logical clusters straight from kcp: a paginated LIST of
// LogicalClusters at <server>/clusters/* of every shard (shards() gives their URLs; none means
// the fleet config's server), kept if accept (the fleet provider's filter) takes them. The
// catalog's start-up pass compares it with the engaged workspaces.
func workspaceLister(fleetConfig *rest.Config, shards func() []string, scheme *runtime.Scheme, accept func(client.Object) bool) (func(context.Context) ([]multicluster.ClusterName, error), error) {
	server, err := kcpconfig.Server(fleetConfig)
	if err != nil {
		return nil, err
	}
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(corev1alpha1.SchemeGroupVersion.WithKind("LogicalCluster"), meta.RESTScopeRoot)
	var mu sync.Mutex
	clients := map[string]client.Client{} // by shard URL
	clientFor := func(url string) (client.Client, error) {
		mu.Lock()
		defer mu.Unlock()
		if c, ok := clients[url]; ok {
			return c, nil
		}
		shard := rest.CopyConfig(server)
		shard.Host = url
		c, err := client.New(kcpconfig.ForCluster(shard, "*"), client.Options{Scheme: scheme, Mapper: mapper})
		if err == nil {
			clients[url] = c
		}
		return c, err
	}
	return func(ctx context.Context) ([]multicluster.ClusterName, error) {
		urls := shards()
		if len(urls) == 0 {
			urls = []string{server.Host}
		}
		var names []multicluster.ClusterName
		for _, url := range urls {
			c, err := clientFor(url)
			if err != nil {
				return nil, err
			}
			list := &corev1alpha1.LogicalClusterList{}
			for {
				if err := c.List(ctx, list, client.Limit(500), client.Continue(list.Continue)); err != nil {
					return nil, fmt.Errorf("listing the workspaces of %s: %w", url, err)
				}
				for i := range list.Items {
					if accept(&list.Items[i]) {
						names = append(names, multicluster.ClusterName(logicalcluster.From(&list.Items[i])))
					}
				}
				if list.Continue == "" {
					break
				}
			}
		}
		return names, nil
	}, nil
}

func newScheme() *runtime.Scheme {
	s := apiexport.DefaultScheme()
	utilruntime.Must(tenancyv1alpha1.AddToScheme(s))
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	utilruntime.Must(catalogv1alpha1.AddToScheme(s))
	utilruntime.Must(inventoryv1alpha1.AddToScheme(s))
	return s
}

// fleetClusters lists the engaged workspaces and hands them out through the manager.
type fleetClusters struct {
	mgr   mcmanager.Manager
	fleet *workspaces.Provider
}

func (f fleetClusters) GetCluster(ctx context.Context, name multicluster.ClusterName) (cluster.Cluster, error) {
	return f.mgr.GetCluster(ctx, name)
}

func (f fleetClusters) ClusterNames() []multicluster.ClusterName { return f.fleet.ClusterNames() }
