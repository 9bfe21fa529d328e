// Command workspaces-provider runs one controller over every kcp workspace it can see.
//
// The controller logs the apis.kcp.io/v1alpha2 APIBindings of each engaged workspace: which
// export each one binds and whether it is bound. --path-prefix and --workspace-type narrow the
// set of workspaces; kcp's system:* logical clusters are left out.
//
//	go run ./examples/workspaces-provider --kubeconfig .bindery/kcp.kubeconfig --context shard-base \
//		--path-prefix root:org --workspace-type root:universal
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/kcp-dev/logicalcluster/v3"
	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	mcbuilder "sigs.k8s.io/multicluster-runtime/pkg/builder"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
	mcreconcile "sigs.k8s.io/multicluster-runtime/pkg/reconcile"

	"github.com/bindery-dev/bindery/providers/apiexport"
	"github.com/bindery-dev/bindery/providers/workspaces"
)

func main() {
	// --kubeconfig is defined by controller-runtime and read by config.GetConfigWithContext. Its
	// user must be allowed to list and watch logicalclusters across /clusters/*: a shard admin,
	// not a workspace admin. kcp's admin.kubeconfig has one in its context shard-base, whose
	// server is the shard itself, because the front-proxy refuses wildcard requests.
	kubeContext := flag.String("context", "", "kubeconfig context to use (default: the current context)")
	pathPrefix := flag.String("path-prefix", "", "engage only the workspace at this path and those below it, e.g. root:org")
	var types []string
	flag.Func("workspace-type", "engage only workspaces of this type, e.g. root:universal (repeatable, or comma-separated)", func(v string) error {
		types = append(types, strings.Split(v, ",")...)
		return nil
	})
	// controller-runtime's zap logger, readable on a terminal; the --zap-* flags tune it.
	logOpts := zap.Options{Development: true}
	logOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&logOpts)))

	// SIGINT or SIGTERM cancels the context: the manager, the provider and its clusters stop.
	opts := workspaces.Options{PathPrefix: logicalcluster.NewPath(*pathPrefix), WorkspaceTypes: types}
	if err := run(ctrl.SetupSignalHandler(), *kubeContext, opts); err != nil {
		ctrl.Log.Error(err, "workspaces-provider failed")
		os.Exit(1)
	}
}

func run(ctx context.Context, kubeContext string, opts workspaces.Options) error {
	if !opts.PathPrefix.Empty() && !opts.PathPrefix.IsValid() {
		return fmt.Errorf("--path-prefix %q is not a workspace path", opts.PathPrefix)
	}
	cfg, err := config.GetConfigWithContext(kubeContext)
	if err != nil {
		return fmt.Errorf("loading the kubeconfig: %w", err)
	}
	// apiexport.DefaultScheme has client-go's types plus kcp's apis and core types.
	opts.Scheme, opts.Log = apiexport.DefaultScheme(), ctrl.Log.WithName("provider")
	provider, err := workspaces.New(cfg, opts)
	if err != nil {
		return fmt.Errorf("creating the provider: %w", err)
	}
	// The manager starts the provider; mcbuilder controllers see only the workspaces it engages.
	mgr, err := mcmanager.New(cfg, provider, manager.Options{
		Scheme: opts.Scheme, Metrics: metricsserver.Options{BindAddress: "0"},
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}

	log := ctrl.Log.WithName("apibindings")
	err = mcbuilder.ControllerManagedBy(mgr).Named("apibindings").For(&apisv1alpha2.APIBinding{}).
		Complete(mcreconcile.Func(func(ctx context.Context, req mcreconcile.Request) (ctrl.Result, error) {
			cl, err := mgr.GetCluster(ctx, req.ClusterName)
			if err != nil {
				return ctrl.Result{}, err // a disengaged workspace: mcbuilder drops the request
			}
			binding := &apisv1alpha2.APIBinding{}
			if err := cl.GetClient().Get(ctx, req.NamespacedName, binding); err != nil {
				return ctrl.Result{}, client.IgnoreNotFound(err) // deleted: nothing to do
			}
			log.Info("APIBinding", "cluster", req.ClusterName, "object", req.Name,
				"export", binding.Spec.Reference.Export, "phase", binding.Status.Phase)
			return ctrl.Result{}, nil
		}))
	if err != nil {
		return fmt.Errorf("creating the controller: %w", err)
	}
	return mgr.Start(ctx)
}
