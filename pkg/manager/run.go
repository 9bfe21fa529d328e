package manager

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	"github.com/kcp-dev/logicalcluster/v3"
	tenancyv1alpha1 "github.com/kcp-dev/sdk/apis/tenancy/v1alpha1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrlmanager "sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"

	catalogv1alpha1 "github.com/bindery-dev/bindery/apis/catalog/v1alpha1"
	inventoryv1alpha1 "github.com/bindery-dev/bindery/apis/inventory/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/catalog"
	"github.com/bindery-dev/bindery/pkg/kcpconfig"
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
	// MetricsBindAddress and HealthProbeBindAddress; "0" disables.
	MetricsBindAddress     string
	HealthProbeBindAddress string
	Log                    logr.Logger
}

// Run runs the manager until ctx ends.
func Run(ctx context.Context, opts Options) error {
	if opts.Config == nil || opts.CatalogWorkspace.Empty() {
		return fmt.Errorf("a kcp config and a catalog workspace are required")
	}
	scheme := newScheme()
	server, err := kcpconfig.Server(opts.Config)
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
	fleetConfig := opts.FleetConfig
	if fleetConfig == nil {
		fleetConfig = server
	}
	fleet, err := workspaces.New(fleetConfig, workspaces.Options{Scheme: scheme, Log: opts.Log.WithName("workspaces")})
	if err != nil {
		return err
	}
	mgr, err := mcmanager.New(catalogConfig, fleet, ctrlmanager.Options{
		Scheme:                  scheme,
		Logger:                  opts.Log,
		LeaderElection:          opts.LeaderElection,
		LeaderElectionID:        "bindery-manager",
		LeaderElectionNamespace: "default",
		Metrics:                 metricsserver.Options{BindAddress: opts.MetricsBindAddress},
		HealthProbeBindAddress:  opts.HealthProbeBindAddress,
	})
	if err != nil {
		return err
	}
	if err := mgr.GetLocalManager().AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.GetLocalManager().AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	inventory := &catalog.Inventory{ExportPath: opts.CatalogWorkspace, ExportName: InventoryExport, Scheme: scheme}
	if err := catalog.Setup(ctx, mgr, fleetClusters{mgr: mgr, fleet: fleet}, catalogClient, inventory); err != nil {
		return fmt.Errorf("setting up the catalog controller: %w", err)
	}
	opts.Log.Info("bindery-manager running", "catalog", opts.CatalogWorkspace.String())
	return mgr.Start(ctx)
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
