package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	dbv1alpha1 "github.com/bindery-dev/bindery/examples/database-operator/api/v1alpha1"
	"github.com/bindery-dev/bindery/examples/database-operator/config"
	"github.com/bindery-dev/bindery/examples/database-operator/internal/controller"
	"github.com/bindery-dev/bindery/examples/database-operator/internal/crd"
)

// name is the operator's name: its field manager, event source and leader election prefix.
const name = "database-operator"

// crdInstallTimeout bounds --install-crd; the API server establishes a CRD within seconds.
const crdInstallTimeout = 2 * time.Minute

const usage = `database-operator is an example provider operator, the provider service of bindery's quickstart.

It serves Databases (databases.db.provider.example/v1alpha1) in an ordinary Kubernetes cluster.
For each Database it creates a Secret <name>-credentials (username, password, host, port, engine)
and reports status.endpoint and a Ready condition; deleting the Database deletes the Secret.
The databases are imaginary: the operator stands in for a real one so that bindery has something
to publish.

It installs its CRD at start unless --install-crd=false, and serves no metrics or health endpoints
unless asked to. SIGINT or SIGTERM stops it cleanly.

Usage:
  database-operator [flags]

Examples:
  # Against bindery's local provider cluster (make run):
  database-operator --kubeconfig .bindery/provider.kubeconfig
  kubectl --kubeconfig .bindery/provider.kubeconfig apply -n default -f examples/database-operator/config/sample.yaml

  # In a Pod, with probes and metrics:
  database-operator --health-probe-bind-address :8081 --metrics-bind-address :8080 --leader-elect

Flags:
`

type options struct {
	metricsAddress          string
	probeAddress            string
	leaderElect             bool
	leaderElectionNamespace string
	installCRD              bool
	zap                     zap.Options
}

func main() {
	opts := bindFlags(flag.CommandLine)
	flag.Usage = func() {
		fmt.Fprint(flag.CommandLine.Output(), usage)
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "database-operator takes no arguments, got %q; see --help\n", flag.Args())
		os.Exit(2)
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts.zap)))

	// SIGINT or SIGTERM cancels the context: the manager stops its controllers, releases the
	// leader lease and returns.
	if err := run(ctrl.SetupSignalHandler(), opts); err != nil {
		ctrl.Log.Error(err, "database-operator failed")
		os.Exit(1)
	}
}

func bindFlags(fs *flag.FlagSet) *options {
	opts := &options{}
	// controller-runtime defines --kubeconfig on the standard flag set; ctrl.GetConfig reads it.
	if kubeconfig := fs.Lookup("kubeconfig"); kubeconfig != nil {
		kubeconfig.Usage = "kubeconfig of the cluster to run in (default: $KUBECONFIG, else the in-cluster config, else ~/.kube/config)"
	}
	fs.StringVar(&opts.metricsAddress, "metrics-bind-address", "0", "address of the Prometheus /metrics endpoint, e.g. :8080; 0 disables it")
	fs.StringVar(&opts.probeAddress, "health-probe-bind-address", "0", "address of the /healthz and /readyz endpoints, e.g. :8081 in a Pod with probes; 0 disables them")
	fs.BoolVar(&opts.leaderElect, "leader-elect", false, "run one active replica at a time, coordinated through a Lease; for Deployments with more than one replica")
	fs.StringVar(&opts.leaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader election Lease (default: the Pod's namespace; required with --leader-elect outside a cluster)")
	fs.BoolVar(&opts.installCRD, "install-crd", true, "apply the Database CRD at start (server-side apply) and wait until it is served; needs RBAC for customresourcedefinitions")
	opts.zap.BindFlags(fs)
	return opts
}

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	utilruntime.Must(dbv1alpha1.AddToScheme(s))
	return s
}

func run(ctx context.Context, opts *options) error {
	log := ctrl.Log.WithName("setup")
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("no cluster to run in (tried --kubeconfig, $KUBECONFIG, the in-cluster config and ~/.kube/config): %w", err)
	}
	scheme := newScheme()

	if opts.installCRD {
		if err := installCRD(ctx, cfg, scheme); err != nil {
			return err
		}
		log.Info("CRD installed", "crd", "databases."+dbv1alpha1.GroupVersion.Group)
	}

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: opts.metricsAddress},
		HealthProbeBindAddress:  opts.probeAddress,
		LeaderElection:          opts.leaderElect,
		LeaderElectionID:        name + "." + dbv1alpha1.GroupVersion.Group,
		LeaderElectionNamespace: opts.leaderElectionNamespace,
		// Hand the lease over at once on shutdown instead of letting it expire; safe because the
		// process exits as soon as the manager returns.
		LeaderElectionReleaseOnCancel: true,
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			// Cache only the operator's own Secrets, not every Secret of the cluster.
			&corev1.Secret{}: {Label: controller.ManagedSecrets()},
		}},
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}

	reconciler := &controller.DatabaseReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorder(name),
	}
	if err := reconciler.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the Database controller: %w", err)
	}

	log.Info("Starting", "leaderElection", opts.leaderElect)
	return mgr.Start(ctx)
}

// installCRD applies config/crd.yaml, compiled into the binary, and waits until it is served.
func installCRD(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme) error {
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("creating a client: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, crdInstallTimeout)
	defer cancel()
	if err := crd.Install(ctx, c, config.CRD, name); err != nil {
		return fmt.Errorf("installing the CRD (--install-crd): %w", err)
	}
	return nil
}
