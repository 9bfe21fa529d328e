// Package cli is bindery-syncagent's command line: flags, their defaults and help, mapped onto
// syncagent.Options.
package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/bindery-dev/bindery/pkg/logging"
	"github.com/bindery-dev/bindery/pkg/restconfig"
	"github.com/bindery-dev/bindery/pkg/syncagent"
	"github.com/bindery-dev/bindery/pkg/urlrewrite"
	"github.com/bindery-dev/bindery/pkg/version"
)

type flags struct {
	kcpKubeconfig  string
	kubeconfig     string
	endpointSlice  string
	agentName      string
	namespace      string
	selector       string
	leaderElect    bool
	metricsAddress string
	healthAddress  string
	pprofAddress   string
	qps            float32
	consumerEvents string
	burst          int
	presence       time.Duration
	urlRewrites    []string
	zapOptions     zap.Options
}

// NewCommand returns the bindery-syncagent command with its version subcommand.
func NewCommand() *cobra.Command {
	f := &flags{}
	cmd := &cobra.Command{
		Use:   "bindery-syncagent",
		Short: "Publish a provider cluster's CRDs into kcp",
		Long: `bindery-syncagent runs next to a provider's Kubernetes cluster. For every PublishedResource
in that cluster it builds an APIResourceSchema from the named CRD (renamed as the projection says)
and puts it into an APIExport in the provider's kcp workspace, where consumers bind it.

Each PublishedResource reports its state in its conditions (kubectl get publishedresources).
See docs/syncagent.md for the PublishedResource API and the permissions the agent needs.`,
		Example: `  bindery-syncagent --kcp-kubeconfig kcp.kubeconfig --apiexport-endpoint-slice databases \
    --agent-name databases-agent --kubeconfig provider.kubeconfig --leader-elect=false`,
		SilenceUsage: true,
		RunE:         func(cmd *cobra.Command, _ []string) error { return run(cmd, f) },
	}
	fs := cmd.Flags()
	fs.StringVar(&f.kcpKubeconfig, "kcp-kubeconfig", "", "kubeconfig of the provider's kcp workspace, the one that holds the APIExport (required)")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the provider cluster (default: the in-cluster config)")
	fs.StringVar(&f.endpointSlice, "apiexport-endpoint-slice", "", "APIExportEndpointSlice of the export to manage; without one, the APIExport of this name is created (required)")
	fs.StringVar(&f.agentName, "agent-name", "", "name marking everything this agent owns; agents sharing a cluster or workspace need different names (required)")
	fs.StringVar(&f.namespace, "namespace", syncagent.DefaultNamespace, "namespace of the provider cluster for the agent's presence Lease and leader election Lease; with --agent-name it identifies the agent")
	fs.StringVar(&f.selector, "published-resource-selector", "", "label selector picking this agent's PublishedResources (default: all)")
	fs.BoolVar(&f.leaderElect, "leader-elect", true, "run one active replica at a time")
	fs.StringVar(&f.metricsAddress, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint; 0 disables it")
	fs.StringVar(&f.healthAddress, "health-probe-bind-address", ":8081", "address of /healthz and /readyz; 0 disables them")
	fs.StringVar(&f.pprofAddress, "pprof-bind-address", "0", "address of Go's /debug/pprof endpoints, for profiling; 0 disables them")
	fs.Float32Var(&f.qps, "kube-api-qps", restconfig.DefaultQPS, "requests per second the agent may send to each API server (kcp and the provider cluster)")
	fs.IntVar(&f.burst, "kube-api-burst", restconfig.DefaultBurst, "burst of requests above --kube-api-qps")
	fs.StringVar(&f.consumerEvents, "consumer-events", string(syncagent.AllEvents), "events on consumers' objects: all (progress and problems) or warnings (problems only; each event is a write through kcp, see docs/performance.md)")
	fs.DurationVar(&f.presence, "presence-lease-duration", syncagent.DefaultPresenceLeaseDuration,
		"how long the agent counts as alive after it last renewed its presence Lease; after that, another agent that selects its PublishedResources may take them over")
	fs.StringArrayVar(&f.urlRewrites, "endpoint-url-rewrite", nil,
		"<from>=<to>: reach the export's virtual workspace URLs that start with <from> at <to> instead, for shards that registered an address the agent cannot reach "+
			"(e.g. https://shard-1.kcp.svc:6443=https://kcp-shard-1.example.com); repeatable, the first matching rule applies")
	logging.BindFlags(fs, &f.zapOptions)
	cmd.AddCommand(version.Command())
	return cmd
}

func run(cmd *cobra.Command, f *flags) error {
	log := zap.New(zap.UseFlagOptions(&f.zapOptions))
	ctrl.SetLogger(log)
	selector, err := labels.Parse(f.selector)
	if err != nil {
		return fmt.Errorf("--published-resource-selector %q: %w", f.selector, err)
	}
	rewrites, err := urlrewrite.Parse("--endpoint-url-rewrite", f.urlRewrites)
	if err != nil {
		return err
	}
	if f.kcpKubeconfig == "" {
		return fmt.Errorf("--kcp-kubeconfig is required: the kubeconfig of the provider's kcp workspace")
	}
	kcpConfig, err := clientcmd.BuildConfigFromFlags("", f.kcpKubeconfig)
	if err != nil {
		return fmt.Errorf("--kcp-kubeconfig %s: %w", f.kcpKubeconfig, err)
	}
	providerConfig, err := restconfig.FromKubeconfigOrCluster(f.kubeconfig)
	if err != nil {
		return err
	}
	// Without this, client-go throttles to 5 requests per second, which caps the sync rate.
	for _, cfg := range []*rest.Config{kcpConfig, providerConfig} {
		cfg.QPS, cfg.Burst = f.qps, f.burst
	}
	opts := syncagent.Options{
		KCPConfig:              kcpConfig,
		ProviderConfig:         providerConfig,
		EndpointSliceName:      f.endpointSlice,
		AgentName:              f.agentName,
		Namespace:              f.namespace,
		PresenceLeaseDuration:  f.presence,
		Selector:               selector,
		LeaderElection:         f.leaderElect,
		MetricsBindAddress:     f.metricsAddress,
		HealthProbeBindAddress: f.healthAddress,
		PprofBindAddress:       f.pprofAddress,
		ConsumerEvents:         syncagent.EventPolicy(f.consumerEvents),
		RewriteEndpointURL:     rewrites.Func(),
		Log:                    log,
	}
	if err := opts.Validate(); err != nil {
		return err
	}
	return syncagent.Run(ctrl.SetupSignalHandler(), opts)
}
