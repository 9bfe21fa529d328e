// Command apiexport-provider runs one controller over every kcp workspace that binds an APIExport.
//
// The controller logs the core/v1 ConfigMaps of each consumer workspace. The provider sees
// consumer objects only through the export's virtual workspace, so the export must claim
// configmaps (group "", verbs get, list and watch) and each consumer must accept that claim.
// Run it against the provider workspace, the one that holds the APIExportEndpointSlice:
//
//	go run ./examples/apiexport-provider --kubeconfig provider.kubeconfig --endpoint-slice widgets
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	mcbuilder "sigs.k8s.io/multicluster-runtime/pkg/builder"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
	mcreconcile "sigs.k8s.io/multicluster-runtime/pkg/reconcile"

	"github.com/bindery-dev/bindery/providers/apiexport"
)

func main() {
	// controller-runtime already defines --kubeconfig on the standard flag set; ctrl.GetConfig
	// reads it and, when it is empty, tries $KUBECONFIG, in-cluster config and ~/.kube/config.
	sliceName := flag.String("endpoint-slice", "", "name of the APIExportEndpointSlice in the kubeconfig's workspace (required)")
	resolvePaths := flag.Bool("resolve-paths", false, "also find clusters by workspace path; the export must claim logicalclusters.core.kcp.io (get, list, watch)")
	// controller-runtime's zap logger, readable on a terminal; the --zap-* flags tune it.
	logOpts := zap.Options{Development: true}
	logOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&logOpts)))

	// SIGINT or SIGTERM cancels the context: the manager, the provider and its clusters stop.
	if err := run(ctrl.SetupSignalHandler(), *sliceName, *resolvePaths); err != nil {
		ctrl.Log.Error(err, "apiexport-provider failed")
		os.Exit(1)
	}
}

func run(ctx context.Context, sliceName string, resolvePaths bool) error {
	if sliceName == "" {
		return errors.New("--endpoint-slice is required")
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("loading the kubeconfig: %w", err)
	}
	// The provider and the manager share one scheme, so both know the same types.
	scheme := apiexport.DefaultScheme()
	provider, err := apiexport.New(cfg, sliceName, apiexport.Options{
		Scheme: scheme, ResolvePaths: resolvePaths, Log: ctrl.Log.WithName("provider"),
	})
	if err != nil {
		return fmt.Errorf("creating the provider: %w", err)
	}
	// The manager starts the provider. Its own cluster (the provider workspace) is not watched:
	// mcbuilder controllers see only the clusters the provider engages. Metrics are off so that
	// both examples can run side by side.
	mgr, err := mcmanager.New(cfg, provider, manager.Options{
		Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"},
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}

	log := ctrl.Log.WithName("configmaps")
	err = mcbuilder.ControllerManagedBy(mgr).Named("configmaps").For(&corev1.ConfigMap{}).
		Complete(mcreconcile.Func(func(ctx context.Context, req mcreconcile.Request) (ctrl.Result, error) {
			// A cluster disengaged after its event was queued yields ErrClusterNotFound, which
			// mcbuilder drops instead of retrying.
			cl, err := mgr.GetCluster(ctx, req.ClusterName)
			if err != nil {
				return ctrl.Result{}, err
			}
			cm := &corev1.ConfigMap{}
			if err := cl.GetClient().Get(ctx, req.NamespacedName, cm); err != nil {
				return ctrl.Result{}, client.IgnoreNotFound(err) // deleted: nothing to do
			}
			log.Info("ConfigMap", "cluster", req.ClusterName, "object", req.NamespacedName, "keys", len(cm.Data))
			return ctrl.Result{}, nil
		}))
	if err != nil {
		return fmt.Errorf("creating the controller: %w", err)
	}
	return mgr.Start(ctx)
}
