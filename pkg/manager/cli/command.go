// Package cli is bindery-manager's command line: flags, their defaults and help, mapped onto
// manager.Options.
package cli

import (
	"fmt"

	"github.com/kcp-dev/logicalcluster/v3"
	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/bindery-dev/bindery/pkg/logging"
	"github.com/bindery-dev/bindery/pkg/manager"
	"github.com/bindery-dev/bindery/pkg/restconfig"
	"github.com/bindery-dev/bindery/pkg/urlrewrite"
	"github.com/bindery-dev/bindery/pkg/version"
)

type flags struct {
	kubeconfig       string
	fleetKubeconfig  string
	fleetContext     string
	catalogWorkspace string
	metricsAddress   string
	healthAddress    string
	pprofAddress     string
	qps              float32
	burst            int
	leaderElect      bool
	allShards        bool
	shardRewrites    []string
	zapOptions       zap.Options
}

// NewCommand returns the bindery-manager command with its version subcommand.
func NewCommand() *cobra.Command {
	f := &flags{}
	cmd := &cobra.Command{
		Use:   "bindery-manager",
		Short: "Keep the catalog of APIExports across all kcp workspaces",
		Long: `bindery-manager watches APIExports and APIBindings in every kcp workspace. For each APIExport
labelled catalog.bindery.dev/listed=true it keeps a CatalogEntry in the catalog workspace (created
if missing): where the export is, what it serves, which permission claims a consumer must accept,
and how many workspaces bind it. Every authenticated user may read the catalog.

See docs/manager.md.`,
		Example: `  bindery-manager --kubeconfig admin.kubeconfig \
    --fleet-kubeconfig admin.kubeconfig --fleet-context shard-base`,
		SilenceUsage: true,
		RunE:         func(cmd *cobra.Command, _ []string) error { return run(f) },
	}
	fs := cmd.Flags()
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kcp kubeconfig of an identity that may create the catalog workspace and write to it (required)")
	fs.StringVar(&f.fleetKubeconfig, "fleet-kubeconfig", "", "kcp kubeconfig allowed to list and watch across all workspaces at /clusters/*, e.g. the shard admin (default: --kubeconfig)")
	fs.StringVar(&f.fleetContext, "fleet-context", "", "context to use in --fleet-kubeconfig (default: its current context)")
	fs.StringVar(&f.catalogWorkspace, "catalog-workspace", "root:catalog", "workspace path of the catalog")
	fs.BoolVar(&f.leaderElect, "leader-elect", true, "run one active replica at a time (a Lease in the catalog workspace's default namespace)")
	fs.StringVar(&f.metricsAddress, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint; 0 disables it")
	fs.StringVar(&f.healthAddress, "health-probe-bind-address", ":8081", "address of /healthz and /readyz; 0 disables them. /readyz answers 200 on a standby replica, and on the leader once it has caught up with the fleet")
	fs.StringVar(&f.pprofAddress, "pprof-bind-address", "0", "address of Go's /debug/pprof endpoints, for profiling; 0 disables them")
	fs.BoolVar(&f.allShards, "all-shards", false,
		"watch every shard of a sharded kcp: read the Shard objects of the root workspace through --fleet-kubeconfig (which must then point at the root shard) and watch each shard at its spec.baseURL with the same credentials, valid on every shard")
	fs.StringArrayVar(&f.shardRewrites, "shard-url-rewrite", nil,
		"<from>=<to>: with --all-shards, reach shard base URLs that start with <from> at <to> instead (e.g. https://shard-1.kcp.svc:6443=https://kcp-shard-1.example.com); repeatable, the first matching rule applies")
	fs.Float32Var(&f.qps, "kube-api-qps", restconfig.DefaultQPS, "requests per second the manager may send to kcp, for each identity")
	fs.IntVar(&f.burst, "kube-api-burst", restconfig.DefaultBurst, "burst of requests above --kube-api-qps")
	logging.BindFlags(fs, &f.zapOptions)
	cmd.AddCommand(version.Command())
	return cmd
}

func run(f *flags) error {
	if f.kubeconfig == "" {
		return fmt.Errorf("--kubeconfig is required: a kcp kubeconfig that may create and write the catalog workspace")
	}
	if f.qps <= 0 || f.burst <= 0 {
		return fmt.Errorf("--kube-api-qps and --kube-api-burst must be positive")
	}
	path := logicalcluster.NewPath(f.catalogWorkspace)
	if parent, ok := path.Parent(); !ok || parent.Empty() || !path.HasPrefix(logicalcluster.NewPath("root")) {
		return fmt.Errorf("--catalog-workspace %q: want a workspace path below root, e.g. root:catalog", f.catalogWorkspace)
	}
	rewrites, err := urlrewrite.Parse("--shard-url-rewrite", f.shardRewrites)
	if err != nil {
		return err
	}
	if len(rewrites) > 0 && !f.allShards {
		return fmt.Errorf("--shard-url-rewrite rewrites the shard URLs that --all-shards reads; add --all-shards")
	}
	cfg, err := load(f.kubeconfig, "")
	if err != nil {
		return fmt.Errorf("--kubeconfig: %w", err)
	}
	fleet := cfg
	if f.fleetKubeconfig != "" || f.fleetContext != "" {
		file := f.fleetKubeconfig
		if file == "" {
			file = f.kubeconfig
		}
		if fleet, err = load(file, f.fleetContext); err != nil {
			return fmt.Errorf("--fleet-kubeconfig: %w", err)
		}
	}
	// Without this, client-go throttles to 5 requests per second (burst 10).
	for _, c := range []*rest.Config{cfg, fleet} {
		c.QPS, c.Burst = f.qps, f.burst
	}
	log := zap.New(zap.UseFlagOptions(&f.zapOptions))
	ctrl.SetLogger(log)
	return manager.Run(ctrl.SetupSignalHandler(), manager.Options{
		Config: cfg, FleetConfig: fleet, CatalogWorkspace: path, LeaderElection: f.leaderElect,
		MetricsBindAddress: f.metricsAddress, HealthProbeBindAddress: f.healthAddress, PprofBindAddress: f.pprofAddress,
		AllShards: f.allShards, RewriteShardURL: rewrites.Func(), Log: log,
	})
}

func load(kubeconfig, context string) (*rest.Config, error) {
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context}).ClientConfig()
}
