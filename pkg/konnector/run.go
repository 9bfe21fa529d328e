package konnector

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/go-logr/logr"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
	"sigs.k8s.io/multicluster-runtime/providers/single"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/restconfig"
)

// DefaultNamespace is the konnector's namespace when neither --namespace nor $POD_NAMESPACE say.
const DefaultNamespace = "bindery-system"

// LeaderElectionID names the konnector's leader-election Lease in its namespace.
const LeaderElectionID = "bindery-konnector"

// Options configure the konnector.
type Options struct {
	// ConsumerConfig points at the consumer cluster, where the ServiceBindings are.
	ConsumerConfig *rest.Config
	// Namespace is the konnector's own namespace: its leader-election Lease (default
	// DefaultNamespace).
	Namespace string
	// LeaderElection lets several replicas run, one active.
	LeaderElection bool
	// MetricsBindAddress and HealthProbeBindAddress; "0" disables.
	MetricsBindAddress     string
	HealthProbeBindAddress string
	// HeartbeatInterval is how often each binding's heartbeat Lease on the provider is renewed
	// (default DefaultHeartbeatInterval).
	HeartbeatInterval time.Duration
	// Identity is the heartbeat Lease's holderIdentity (default: $POD_NAME, else the host name).
	Identity string
	Log      logr.Logger
}

// Validate reports options that cannot work.
func (o Options) Validate() error {
	var errs []error
	if o.ConsumerConfig == nil {
		errs = append(errs, errors.New("a consumer cluster config is required (--kubeconfig, or run in-cluster)"))
	}
	if o.LeaderElection && o.Namespace == "" {
		errs = append(errs, errors.New("leader election needs a namespace (--namespace)"))
	}
	if o.HeartbeatInterval < 0 || (o.HeartbeatInterval > 0 && o.HeartbeatInterval < time.Second) {
		errs = append(errs, fmt.Errorf("--heartbeat-interval %s: at least 1s", o.HeartbeatInterval))
	}
	return errors.Join(errs...)
}

// NewScheme knows the types the konnector reads and writes on both sides.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	utilruntime.Must(bindv1alpha1.AddToScheme(s))
	return s
}

// Run runs the konnector until ctx ends.
func Run(ctx context.Context, opts Options) error {
	opts.defaults()
	if err := opts.Validate(); err != nil {
		return err
	}
	if err := servesServiceBindings(opts.ConsumerConfig); err != nil {
		return err
	}
	scheme := NewScheme()
	mgr, err := ctrl.NewManager(restconfig.WithDefaultRateLimit(opts.ConsumerConfig), ctrl.Options{
		Scheme: scheme,
		// The consumer's objects are unstructured to the sync engine; reading them from the cache
		// saves a request per reconcile.
		Client:                  client.Options{Cache: &client.CacheOptions{Unstructured: true}},
		Logger:                  opts.Log,
		LeaderElection:          opts.LeaderElection,
		LeaderElectionID:        LeaderElectionID,
		LeaderElectionNamespace: opts.Namespace,
		Metrics:                 metricsserver.Options{BindAddress: opts.MetricsBindAddress},
		HealthProbeBindAddress:  opts.HealthProbeBindAddress,
	})
	if err != nil {
		return fmt.Errorf("setting up the manager on the consumer cluster: %w", err)
	}
	// The consumer cluster is the sync engine's one source cluster.
	mcmgr, err := mcmanager.WithMultiCluster(mgr, single.New(ConsumerClusterName, mgr))
	if err != nil {
		return fmt.Errorf("setting up the sync engine's manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	r := &Reconciler{Log: opts.Log.WithName("servicebindings"), Holder: opts.Identity, HeartbeatInterval: opts.HeartbeatInterval}
	if err := r.SetupWithManager(mcmgr); err != nil {
		return fmt.Errorf("setting up the ServiceBinding controller: %w", err)
	}
	opts.Log.Info("starting", "namespace", opts.Namespace, "leaderElection", opts.LeaderElection, "identity", opts.Identity)
	return mcmgr.Start(ctx)
}

// servesServiceBindings fails with what to install when the consumer cluster lacks the
// ServiceBinding CRD, rather than with the controller's discovery error about a missing group.
func servesServiceBindings(cfg *rest.Config) error {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	resources, err := dc.ServerResourcesForGroupVersion(bindv1alpha1.GroupVersion.String())
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("reaching the consumer cluster: %w", err)
	}
	if err == nil {
		for _, r := range resources.APIResources {
			if r.Name == "servicebindings" {
				return nil
			}
		}
	}
	return fmt.Errorf("the consumer cluster at %s does not serve servicebindings.%s: install the CRD first "+
		"(kubectl bindery bind does, the bindery-konnector chart ships it, or kubectl apply -f deploy/crd/bind.bindery.dev_servicebindings.yaml)",
		cfg.Host, bindv1alpha1.GroupVersion.Group)
}

func (o *Options) defaults() {
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.HeartbeatInterval == 0 {
		o.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if o.Identity == "" {
		o.Identity = os.Getenv("POD_NAME")
	}
	if o.Identity == "" {
		o.Identity, _ = os.Hostname()
	}
	if o.Identity == "" {
		o.Identity = "bindery-konnector"
	}
}
