// Package cli is bindery-konnector's command line: flags, their defaults and help, mapped onto
// konnector.Options.
package cli

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/bindery-dev/bindery/pkg/konnector"
	"github.com/bindery-dev/bindery/pkg/logging"
	"github.com/bindery-dev/bindery/pkg/restconfig"
	"github.com/bindery-dev/bindery/pkg/version"
)

type flags struct {
	kubeconfig     string
	namespace      string
	leaderElect    bool
	metricsAddress string
	healthAddress  string
	qps            float32
	burst          int
	heartbeat      time.Duration
	zapOptions     zap.Options
}

// NewCommand returns the bindery-konnector command with its version subcommand.
func NewCommand() *cobra.Command {
	f := &flags{}
	cmd := &cobra.Command{
		Use:   "bindery-konnector",
		Short: "Receive a provider's APIs in this Kubernetes cluster and sync their objects to the provider",
		Long: `bindery-konnector runs in (or next to) a consumer's Kubernetes cluster, one per cluster. For every
ServiceBinding there (kubectl bindery bind creates them) it connects to the provider with the
binding's credential Secret, installs the APIs the provider publishes for the binding as CRDs here
(renamed into spec.group when the binding asks for one), and syncs the objects you create of them
into your Consumer's namespace on the provider: spec goes there, status and related objects (such
as credentials Secrets) come back. It renews the credential before it expires (the token in the
Secret is replaced in place) and renews a heartbeat Lease on the provider, which shows the provider
that this cluster is connected.

What it does is on each ServiceBinding (kubectl get servicebindings; -o yaml for the details):
  Connected     the provider answers the credential (Revoked: bind again; ProviderUnreachable:
                retried, the sync keeps its last state)
  SchemaInSync  the received CRDs are installed as the provider publishes them (SchemaConflict
                names a CRD of that name that belongs to someone else)
  Synced        which received kinds are synced, or why one is not
  Ready         all three
with events when they change, status.lastHeartbeatTime, status.credentialExpiresAt and
status.resources (the received CRDs).

Deleting a ServiceBinding disconnects it: its sync stops and the sync's finalizer is removed from
your objects of the received kinds, so that deleting them is never stuck. The objects, their CRDs
and their copies on the provider stay.

Its RBAC in this cluster (pkg/konnectorrbac, installed by kubectl bindery bind) is narrow, never
*/*/*: ServiceBindings with their status and finalizers, Secrets, CRDs, events, reading namespaces,
a leader-election Lease in --namespace, and per binding exactly the received resources. On the
provider it has only what the Consumer's Role grants in the Consumer's namespace.`,
		Example: `  # in a pod: the in-cluster config, the pod's namespace from $POD_NAMESPACE
  bindery-konnector

  # next to the cluster, for development
  bindery-konnector --kubeconfig consumer.kubeconfig --namespace bindery-system --leader-elect=false`,
		SilenceUsage: true,
		RunE:         func(cmd *cobra.Command, _ []string) error { return run(f) },
	}
	bindFlags(cmd, f)
	cmd.AddCommand(version.Command())
	return cmd
}

func bindFlags(cmd *cobra.Command, f *flags) {
	fs := cmd.Flags()
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the consumer cluster, where the ServiceBindings are (default: the in-cluster config)")
	fs.StringVar(&f.namespace, "namespace", defaultNamespace(), "the konnector's own namespace in the consumer cluster, for its leader-election Lease; $POD_NAMESPACE when set")
	fs.BoolVar(&f.leaderElect, "leader-elect", true, "run one active replica at a time (a second replica is a standby)")
	fs.StringVar(&f.metricsAddress, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint (bindery_konnector_*, bindery_sync_*); 0 disables it")
	fs.StringVar(&f.healthAddress, "health-probe-bind-address", ":8081", "address of /healthz and /readyz; 0 disables them")
	fs.Float32Var(&f.qps, "kube-api-qps", restconfig.DefaultQPS, "requests per second the konnector may send to the consumer cluster's API server")
	fs.IntVar(&f.burst, "kube-api-burst", restconfig.DefaultBurst, "burst of requests above --kube-api-qps")
	fs.DurationVar(&f.heartbeat, "heartbeat-interval", konnector.DefaultHeartbeatInterval, "how often each binding's heartbeat Lease on the provider is renewed (the Lease lasts three intervals, at least 60s)")
	logging.BindFlags(fs, &f.zapOptions)
}

// defaultNamespace is the pod's namespace, which the konnector's Deployment passes as
// $POD_NAMESPACE, or konnector.DefaultNamespace.
func defaultNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	return konnector.DefaultNamespace
}

func run(f *flags) error {
	log := zap.New(zap.UseFlagOptions(&f.zapOptions))
	ctrl.SetLogger(log)
	opts, err := f.options()
	if err != nil {
		return err
	}
	opts.Log = log
	return konnector.Run(ctrl.SetupSignalHandler(), opts)
}

// options checks the flags and maps them onto konnector.Options; errors name the flag.
func (f *flags) options() (konnector.Options, error) {
	if f.heartbeat < time.Second {
		return konnector.Options{}, fmt.Errorf("--heartbeat-interval %s: at least 1s", f.heartbeat)
	}
	if f.qps <= 0 || f.burst <= 0 {
		return konnector.Options{}, fmt.Errorf("--kube-api-qps %v and --kube-api-burst %d must be positive", f.qps, f.burst)
	}
	if f.leaderElect && f.namespace == "" {
		return konnector.Options{}, fmt.Errorf("--leader-elect needs --namespace")
	}
	cfg, err := restconfig.FromKubeconfigOrCluster(f.kubeconfig)
	if err != nil {
		return konnector.Options{}, err
	}
	// Without this, client-go throttles to 5 requests per second, which caps the sync rate.
	cfg.QPS, cfg.Burst = f.qps, f.burst
	o := konnector.Options{
		ConsumerConfig:         cfg,
		Namespace:              f.namespace,
		LeaderElection:         f.leaderElect,
		MetricsBindAddress:     f.metricsAddress,
		HealthProbeBindAddress: f.healthAddress,
		HeartbeatInterval:      f.heartbeat,
	}
	return o, o.Validate()
}
