package syncagent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/kcp-dev/logicalcluster/v3"
	apisv1alpha1 "github.com/kcp-dev/sdk/apis/apis/v1alpha1"
	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/publishing"
	"github.com/bindery-dev/bindery/pkg/restconfig"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/providers/apiexport"
)

// Options configure the agent.
type Options struct {
	// KCPConfig points at the provider's kcp workspace (the one holding the APIExport).
	KCPConfig *rest.Config
	// ProviderConfig points at the provider's Kubernetes cluster.
	ProviderConfig *rest.Config
	// EndpointSliceName names the APIExportEndpointSlice; the agent manages the APIExport the
	// slice refers to, or, if there is no such slice yet, the APIExport of the same name.
	EndpointSliceName string
	// AgentName marks everything the agent owns; two agents must have different names.
	AgentName string
	// Namespace holds the agent's presence Lease and its leader election lease in the provider
	// cluster; with AgentName it is the agent's identity in status.agent of PublishedResources
	// (default DefaultNamespace).
	Namespace string
	// PresenceLeaseDuration is how long the agent counts as alive after it last renewed its
	// presence Lease: after that, other agents may take over its PublishedResources (default
	// DefaultPresenceLeaseDuration).
	PresenceLeaseDuration time.Duration
	// Selector picks the PublishedResources of this agent.
	Selector labels.Selector
	// LeaderElection lets several replicas run, one active.
	LeaderElection bool
	// MetricsBindAddress and HealthProbeBindAddress; "0" disables.
	MetricsBindAddress     string
	HealthProbeBindAddress string
	// PprofBindAddress serves Go's profiling endpoints; empty or "0" disables them.
	PprofBindAddress string
	// ConsumerEvents says which events the agent writes on consumers' objects (default: all).
	ConsumerEvents EventPolicy
	// RewriteEndpointURL rewrites each virtual workspace URL of the endpoint slice, for agents
	// that reach shards through another address than the one they registered (default:
	// unchanged; see --endpoint-url-rewrite).
	RewriteEndpointURL func(string) string
	// EndpointHealthInterval is how often the agent probes each shard's virtual workspace for
	// the ConsumersReachable condition (default 5 s).
	EndpointHealthInterval time.Duration
	Log                    logr.Logger
}

// Validate reports missing required options.
func (o Options) Validate() error {
	var errs []error
	if o.KCPConfig == nil {
		errs = append(errs, errors.New("a kcp kubeconfig is required (--kcp-kubeconfig)"))
	}
	if o.ProviderConfig == nil {
		errs = append(errs, errors.New("a provider cluster config is required (--kubeconfig, or run in-cluster)"))
	}
	if o.EndpointSliceName == "" {
		errs = append(errs, errors.New("the APIExportEndpointSlice name is required (--apiexport-endpoint-slice)"))
	}
	if o.AgentName == "" {
		errs = append(errs, errors.New("an agent name is required (--agent-name)"))
	} else if err := syncengine.ValidateAgentName(o.AgentName); err != nil {
		errs = append(errs, fmt.Errorf("--agent-name: %w", err))
	}
	if err := o.ConsumerEvents.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("--consumer-events: %w", err))
	}
	if o.LeaderElection && o.Namespace == "" {
		errs = append(errs, errors.New("leader election needs a namespace (--namespace)"))
	}
	return errors.Join(errs...)
}

// NewScheme knows the types the agent reads and writes on both sides.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	utilruntime.Must(apisv1alpha1.AddToScheme(s))
	utilruntime.Must(apisv1alpha2.AddToScheme(s))
	utilruntime.Must(syncagentv1alpha1.AddToScheme(s))
	return s
}

// Run runs the agent until ctx ends.
func Run(ctx context.Context, opts Options) error {
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if err := opts.Validate(); err != nil {
		return err
	}
	if opts.Selector == nil {
		opts.Selector = labels.Everything()
	}
	opts.KCPConfig, opts.ProviderConfig = restconfig.WithDefaultRateLimit(opts.KCPConfig), restconfig.WithDefaultRateLimit(opts.ProviderConfig)
	scheme := NewScheme()
	log := opts.Log.WithValues("agent", opts.AgentName)

	kcpClient, err := client.New(opts.KCPConfig, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("connecting to kcp: %w", err)
	}
	exportName, err := resolveExportName(ctx, kcpClient, opts.EndpointSliceName, workspaceOf(opts.KCPConfig))
	if err != nil {
		return err
	}
	log.Info("managing APIExport", "export", exportName, "endpointSlice", opts.EndpointSliceName)

	// Consumers' workspaces are engaged through the export's virtual workspace endpoints; the
	// provider cluster is the manager's own (local) cluster.
	health := &healthNotifier{}
	consumers, err := apiexport.New(opts.KCPConfig, opts.EndpointSliceName, apiexport.Options{
		Scheme: scheme, RewriteEndpointURL: opts.RewriteEndpointURL,
		HealthInterval: opts.EndpointHealthInterval, OnEndpointHealthChange: health.notify,
		Log: log.WithName("consumers"),
	})
	if err != nil {
		return fmt.Errorf("watching the consumers of %s: %w", opts.EndpointSliceName, err)
	}
	mcmgr, err := mcmanager.New(opts.ProviderConfig, consumers, ctrl.Options{
		Scheme: scheme,
		// The copies are unstructured; reading them from the cache saves a request per reconcile.
		Client:                  client.Options{Cache: &client.CacheOptions{Unstructured: true}},
		Logger:                  log,
		LeaderElection:          opts.LeaderElection,
		LeaderElectionID:        "bindery-syncagent-" + opts.AgentName,
		LeaderElectionNamespace: opts.Namespace,
		Metrics:                 metricsserver.Options{BindAddress: opts.MetricsBindAddress},
		HealthProbeBindAddress:  opts.HealthProbeBindAddress,
		PprofBindAddress:        opts.PprofBindAddress,
	})
	if err != nil {
		return fmt.Errorf("setting up the manager on the provider cluster: %w", err)
	}
	mgr := mcmgr.GetLocalManager()
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}

	kcpCluster, err := cluster.New(opts.KCPConfig, func(o *cluster.Options) {
		o.Scheme = scheme
		o.Cache.ByObject = map[client.Object]cache.ByObject{
			&apisv1alpha2.APIExport{}: {Field: fields.OneTermEqualSelector("metadata.name", exportName)},
		}
	})
	if err != nil {
		return fmt.Errorf("setting up the kcp workspace: %w", err)
	}
	if err := mgr.Add(kcpCluster); err != nil {
		return err
	}
	present, err := startPresence(ctx, opts, scheme, mgr)
	if err != nil {
		return err
	}

	reconciler := &publishing.Reconciler{
		Provider:   mgr.GetClient(),
		KCP:        kcpClient,
		AgentName:  opts.AgentName,
		Namespace:  opts.Namespace,
		Agents:     present,
		Recheck:    present.duration / 5,
		ExportName: exportName,
		Selector:   opts.Selector,
		Recorder:   mgr.GetEventRecorderFor("bindery-syncagent"),
	}
	if err := reconciler.SetupWithManager(mgr, kcpCluster.GetCache()); err != nil {
		return fmt.Errorf("setting up the publishing controller: %w", err)
	}

	units := newSyncUnits(mcmgr, mgr.GetAPIReader(), log.WithName("sync"))
	if err := mcmgr.Add(units); err != nil {
		return err
	}
	syncing := &syncController{
		provider: mgr.GetClient(), mapper: mgr.GetRESTMapper(), units: units, sources: syncengine.ManagerSources(mcmgr, "bindery-syncagent", opts.ConsumerEvents.Recorder),
		agent: opts.AgentName, namespace: opts.Namespace, selector: opts.Selector,
		release: &releaser{
			kcp: kcpClient, config: opts.KCPConfig, sliceName: opts.EndpointSliceName, scheme: scheme, pageSize: releasePageSize,
		},
		recorder:  mgr.GetEventRecorderFor("bindery-syncagent"),
		endpoints: consumers.EndpointHealth,
		health:    health,
	}
	if err := syncing.setup(mgr); err != nil {
		return fmt.Errorf("setting up the sync controller: %w", err)
	}
	return mcmgr.Start(ctx)
}

// resolveExportName reads the APIExport the endpoint slice refers to; without a slice (kcp creates
// one per APIExport, so there is none before the export exists) it is the slice's name.
// workspace is the path in the kcp kubeconfig's server URL, if it is one.
func resolveExportName(ctx context.Context, kcp client.Client, sliceName string, workspace logicalcluster.Path) (string, error) {
	slice := &apisv1alpha1.APIExportEndpointSlice{}
	err := kcp.Get(ctx, client.ObjectKey{Name: sliceName}, slice)
	exportPath := logicalcluster.NewPath(slice.Spec.APIExport.Path)
	switch {
	case apierrors.IsNotFound(err):
		return sliceName, nil
	case err != nil:
		return "", fmt.Errorf("reading APIExportEndpointSlice %s: %w", sliceName, err)
	// kcp fills in the path of slices it creates; only a path naming another workspace is refused.
	case !exportPath.Empty() && !workspace.Empty() && exportPath != workspace:
		return "", fmt.Errorf("APIExportEndpointSlice %s refers to APIExport %s in workspace %s; the agent manages an APIExport in the slice's own workspace",
			sliceName, slice.Spec.APIExport.Name, slice.Spec.APIExport.Path)
	default:
		return slice.Spec.APIExport.Name, nil
	}
}

// releasePageSize is how many consumer objects one list request returns when the agent releases
// them (see releaser).
const releasePageSize = 500

// workspaceOf returns the workspace path of a /clusters/<path> server URL, or an empty path when
// the URL names a logical cluster (no colon) or nothing.
func workspaceOf(cfg *rest.Config) logicalcluster.Path {
	_, after, found := strings.Cut(cfg.Host, "/clusters/")
	if !found || !strings.Contains(after, ":") {
		return logicalcluster.Path{}
	}
	return logicalcluster.NewPath(strings.TrimSuffix(after, "/"))
}
