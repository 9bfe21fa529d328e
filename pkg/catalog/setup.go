package catalog

import (
	"context"
	"errors"
	"strings"

	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	mcbuilder "sigs.k8s.io/multicluster-runtime/pkg/builder"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"
	mcreconcile "sigs.k8s.io/multicluster-runtime/pkg/reconcile"
)

// Setup runs the catalog controller in mgr: APIExports in every engaged workspace, and the
// APIBindings that point at them (a binding event leads to the export's entry). It also adds the
// reconciler's start-up pass (see startup.go), whose end r.Ready reports. r needs Clusters,
// Catalog and Workspaces.
func Setup(ctx context.Context, mgr mcmanager.Manager, r *Reconciler) error {
	if r.Clusters == nil || r.Catalog == nil || r.Workspaces == nil {
		return errors.New("the catalog reconciler needs Clusters, Catalog and Workspaces")
	}
	if r.Log.GetSink() == nil {
		r.Log = mgr.GetLogger().WithName("catalog")
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &apisv1alpha2.APIBinding{}, ExportIndex, BindingExportKey); err != nil {
		return err
	}
	if err := mgr.GetLocalManager().Add(startup{r: r}); err != nil {
		return err
	}
	if r.Inventory != nil {
		// Engaged with every workspace, so that it drops a workspace's client when it goes.
		if err := mgr.Add(r.Inventory); err != nil {
			return err
		}
	}
	return mcbuilder.ControllerManagedBy(mgr).
		Named("catalog").
		// multicluster-runtime does not apply the manager's controller defaults itself.
		WithOptions(controller.TypedOptions[mcreconcile.Request]{SkipNameValidation: mgr.GetControllerOptions().SkipNameValidation}).
		For(&apisv1alpha2.APIExport{}).
		Watches(&apisv1alpha2.APIBinding{}, func(multicluster.ClusterName, cluster.Cluster) handler.TypedEventHandler[client.Object, mcreconcile.Request] {
			return handler.TypedEnqueueRequestsFromMapFunc(func(_ context.Context, obj client.Object) []mcreconcile.Request {
				var requests []mcreconcile.Request
				for _, key := range BindingExportKey(obj) {
					cluster, name, _ := strings.Cut(key, "/")
					requests = append(requests, mcreconcile.Request{
						ClusterName: multicluster.ClusterName(cluster),
						Request:     reconcile.Request{NamespacedName: types.NamespacedName{Name: name}},
					})
				}
				return requests
			})
		}).
		Complete(r)
}
