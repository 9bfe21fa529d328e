package catalog

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kcp-dev/logicalcluster/v3"
	apisv1alpha1 "github.com/kcp-dev/sdk/apis/apis/v1alpha1"
	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	"github.com/kcp-dev/sdk/apis/core"
	corev1alpha1 "github.com/kcp-dev/sdk/apis/core/v1alpha1"
	conditionsv1alpha1 "github.com/kcp-dev/sdk/apis/third_party/conditions/apis/conditions/v1alpha1"
	"github.com/kcp-dev/sdk/apis/third_party/conditions/util/conditions"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"
	mcreconcile "sigs.k8s.io/multicluster-runtime/pkg/reconcile"

	catalogv1alpha1 "github.com/bindery-dev/bindery/apis/catalog/v1alpha1"
	inventoryv1alpha1 "github.com/bindery-dev/bindery/apis/inventory/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/templating"
)

// ExportIndex indexes APIBindings by "<export's logical cluster>/<export name>".
const ExportIndex = "catalog.bindery.dev/export"

// recount bounds how stale a consumer count can get when bindings vanish without an event
// reaching the manager (a whole workspace deleted at once).
const recount = 5 * time.Second

// Clusters gives access to the engaged workspaces.
type Clusters interface {
	GetCluster(ctx context.Context, name multicluster.ClusterName) (cluster.Cluster, error)
	// ClusterNames lists the engaged workspaces.
	ClusterNames() []multicluster.ClusterName
}

// Reconciler keeps one CatalogEntry per listed APIExport.
type Reconciler struct {
	Clusters Clusters
	// UnreadyAfter is how long a binding may stay not Ready before it counts as unhealthy
	// (default 2 minutes).
	UnreadyAfter time.Duration
	// Catalog writes CatalogEntries into the catalog workspace.
	Catalog client.Client
	// Inventory, if set, also writes each listed export's consumers into the provider's workspace.
	Inventory *Inventory

	mu sync.Mutex
	// reported is the problem last reported per binding (cluster/name), so that an event is
	// recorded when a problem appears or changes, not on every recount.
	reported map[string]string
}

func (r *Reconciler) unreadyAfter() time.Duration {
	if r.UnreadyAfter == 0 {
		return 2 * time.Minute
	}
	return r.UnreadyAfter
}

// reportProblem records a Warning event on the consumer's binding when its problem is new.
func (r *Reconciler) reportProblem(cl cluster.Cluster, binding *apisv1alpha2.APIBinding, problem string) {
	key := logicalcluster.From(binding).String() + "/" + binding.Name
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reported == nil {
		r.reported = map[string]string{}
	}
	if r.reported[key] == problem {
		return
	}
	r.reported[key] = problem
	if problem != "" {
		cl.GetEventRecorderFor("bindery-manager").Event(binding, corev1.EventTypeWarning, "BindingUnhealthy", problem)
	}
}

// problemOf says what is wrong with a consumer's binding, or "" if nothing is.
func problemOf(binding *apisv1alpha2.APIBinding, claims []apisv1alpha2.PermissionClaim, unreadyAfter time.Duration, now time.Time) string {
	var missing []string
	for _, claim := range claims {
		if !accepted(binding, claim) {
			missing = append(missing, claimName(claim.Group, claim.Resource))
		}
	}
	if len(missing) > 0 {
		return "the binding does not accept permission claims the export needs: " + strings.Join(missing, ", ")
	}
	ready := conditions.Get(binding, conditionsv1alpha1.ReadyCondition)
	if ready != nil && ready.Status != corev1.ConditionTrue && now.Sub(ready.LastTransitionTime.Time) > unreadyAfter {
		// Stable text: a message that changed with every recount would be a new event each time.
		return fmt.Sprintf("the binding has not been Ready for more than %s: %s", unreadyAfter, ready.Message)
	}
	return ""
}

func accepted(binding *apisv1alpha2.APIBinding, claim apisv1alpha2.PermissionClaim) bool {
	for _, c := range binding.Spec.PermissionClaims {
		if c.EqualGRI(claim) && c.State == apisv1alpha2.ClaimAccepted {
			return true
		}
	}
	return false
}

func claimName(group, resource string) string {
	if group == "" {
		return resource
	}
	return resource + "." + group
}

// Reconcile brings the catalog entry of one APIExport in line with it.
func (r *Reconciler) Reconcile(ctx context.Context, req mcreconcile.Request) (reconcile.Result, error) {
	entryName := EntryName(req.ClusterName.String(), req.Name)
	cl, err := r.Clusters.GetCluster(ctx, req.ClusterName)
	if err != nil {
		// The workspace is gone or no longer engaged: so is its export.
		return reconcile.Result{}, r.deleteEntry(ctx, entryName)
	}
	export := &apisv1alpha2.APIExport{}
	if err := cl.GetClient().Get(ctx, req.NamespacedName, export); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Result{}, r.deleteEntry(ctx, entryName)
		}
		return reconcile.Result{}, err
	}
	if export.Labels[catalogv1alpha1.ListedLabel] != "true" {
		return reconcile.Result{}, r.deleteEntry(ctx, entryName)
	}
	spec, err := r.describe(ctx, cl, req.ClusterName.String(), export)
	if err != nil {
		return reconcile.Result{}, err
	}
	consumers, err := r.consumersOf(ctx, req.ClusterName.String()+"/"+export.Name, export.Spec.PermissionClaims)
	if err != nil {
		return reconcile.Result{}, err
	}
	if err := r.upsert(ctx, entryName, spec, int32(len(consumers))); err != nil {
		return reconcile.Result{}, err
	}
	if r.Inventory != nil {
		if err := r.Inventory.Write(ctx, cl, export.Name, consumers); err != nil {
			return reconcile.Result{}, err
		}
	}
	return reconcile.Result{RequeueAfter: recount}, nil
}

// EntryName is the CatalogEntry name of an export: unique per workspace and export.
func EntryName(cluster, export string) string { return templating.DNSLabel(export, cluster) }

// describe reads what a consumer needs to know about the export.
func (r *Reconciler) describe(ctx context.Context, cl cluster.Cluster, clusterName string, export *apisv1alpha2.APIExport) (catalogv1alpha1.CatalogEntrySpec, error) {
	lc := &corev1alpha1.LogicalCluster{}
	if err := cl.GetClient().Get(ctx, client.ObjectKey{Name: corev1alpha1.LogicalClusterName}, lc); err != nil {
		return catalogv1alpha1.CatalogEntrySpec{}, fmt.Errorf("reading the workspace's path: %w", err)
	}
	spec := catalogv1alpha1.CatalogEntrySpec{
		Export: catalogv1alpha1.ExportReference{
			Path: lc.Annotations[core.LogicalClusterPathAnnotationKey], Cluster: clusterName, Name: export.Name,
		},
		DisplayName: export.Annotations[catalogv1alpha1.DisplayNameAnnotation],
		Description: export.Annotations[catalogv1alpha1.DescriptionAnnotation],
	}
	if spec.DisplayName == "" {
		spec.DisplayName = export.Name
	}
	for _, res := range export.Spec.Resources {
		entry := catalogv1alpha1.Resource{Group: res.Group, Resource: res.Name}
		schema := &apisv1alpha1.APIResourceSchema{}
		if err := cl.GetClient().Get(ctx, client.ObjectKey{Name: res.Schema}, schema); err == nil {
			for _, v := range schema.Spec.Versions {
				if v.Served {
					entry.Versions = append(entry.Versions, v.Name)
				}
			}
		}
		spec.Resources = append(spec.Resources, entry)
	}
	for _, claim := range export.Spec.PermissionClaims {
		spec.PermissionClaims = append(spec.PermissionClaims, catalogv1alpha1.PermissionClaim{
			Group: claim.Group, Resource: claim.Resource, Verbs: claim.Verbs, IdentityHash: claim.IdentityHash,
		})
	}
	return spec, nil
}

// consumersOf finds the workspaces with a binding to the export, through the field index of each
// engaged workspace (an index lookup each, no listing of all bindings), sorted by path.
func (r *Reconciler) consumersOf(ctx context.Context, exportKey string, claims []apisv1alpha2.PermissionClaim) ([]inventoryv1alpha1.Consumer, error) {
	var consumers []inventoryv1alpha1.Consumer
	for _, name := range r.Clusters.ClusterNames() {
		cl, err := r.Clusters.GetCluster(ctx, name)
		if err != nil {
			continue // disengaged meanwhile
		}
		bindings := &apisv1alpha2.APIBindingList{}
		if err := cl.GetCache().List(ctx, bindings, client.MatchingFields{ExportIndex: exportKey}); err != nil {
			return nil, fmt.Errorf("finding bindings in %s: %w", name, err)
		}
		if len(bindings.Items) == 0 {
			continue
		}
		path := ""
		lc := &corev1alpha1.LogicalCluster{}
		if err := cl.GetCache().Get(ctx, client.ObjectKey{Name: corev1alpha1.LogicalClusterName}, lc); err == nil {
			path = lc.Annotations[core.LogicalClusterPathAnnotationKey]
		}
		binding := &bindings.Items[0]
		consumer := consumerOf(name.String(), path, binding)
		consumer.Problem = problemOf(binding, claims, r.unreadyAfter(), time.Now())
		r.reportProblem(cl, binding, consumer.Problem)
		consumers = append(consumers, consumer)
	}
	slices.SortFunc(consumers, func(a, b inventoryv1alpha1.Consumer) int { return strings.Compare(a.Path, b.Path) })
	return consumers, nil
}

// consumerOf describes a consumer from its binding.
func consumerOf(cluster, path string, binding *apisv1alpha2.APIBinding) inventoryv1alpha1.Consumer {
	c := inventoryv1alpha1.Consumer{
		Path: path, Cluster: cluster, Binding: binding.Name,
		Ready: conditions.IsTrue(binding, conditionsv1alpha1.ReadyCondition),
	}
	for _, claim := range binding.Spec.PermissionClaims {
		gr := claimName(claim.Group, claim.Resource)
		if claim.State == apisv1alpha2.ClaimAccepted {
			c.AcceptedClaims = append(c.AcceptedClaims, gr)
		} else {
			c.RejectedClaims = append(c.RejectedClaims, gr)
		}
	}
	return c
}

// BindingExportKey is the index value of a binding: the export's logical cluster and name.
func BindingExportKey(obj client.Object) []string {
	binding, ok := obj.(*apisv1alpha2.APIBinding)
	if !ok || binding.Spec.Reference.Export == nil || binding.Status.APIExportClusterName == "" {
		return nil
	}
	return []string{binding.Status.APIExportClusterName + "/" + binding.Spec.Reference.Export.Name}
}

func (r *Reconciler) upsert(ctx context.Context, name string, spec catalogv1alpha1.CatalogEntrySpec, consumers int32) error {
	entry := &catalogv1alpha1.CatalogEntry{}
	err := r.Catalog.Get(ctx, client.ObjectKey{Name: name}, entry)
	switch {
	case apierrors.IsNotFound(err):
		entry.Name, entry.Spec = name, spec
		if err := r.Catalog.Create(ctx, entry); err != nil {
			return fmt.Errorf("creating catalog entry %s: %w", name, err)
		}
	case err != nil:
		return err
	case !equality.Semantic.DeepEqual(entry.Spec, spec):
		entry.Spec = spec
		if err := r.Catalog.Update(ctx, entry); err != nil {
			return fmt.Errorf("updating catalog entry %s: %w", name, err)
		}
	}
	if entry.Status.Consumers == consumers {
		return nil
	}
	entry.Status.Consumers = consumers
	if err := r.Catalog.Status().Update(ctx, entry); err != nil {
		return fmt.Errorf("updating the consumer count of %s: %w", name, err)
	}
	return nil
}

func (r *Reconciler) deleteEntry(ctx context.Context, name string) error {
	entry := &catalogv1alpha1.CatalogEntry{}
	entry.Name = name
	return client.IgnoreNotFound(r.Catalog.Delete(ctx, entry))
}
