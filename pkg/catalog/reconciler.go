package catalog

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
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

// Reconciler keeps one CatalogEntry per listed APIExport. Its start-up pass (see startup.go)
// runs once the replica leads: it waits until the fleet is engaged, then prunes the entries of
// exports that went away while no manager ran.
type Reconciler struct {
	Clusters Clusters
	// UnreadyAfter is how long a binding may stay not Ready before it counts as unhealthy
	// (default 2 minutes).
	UnreadyAfter time.Duration
	// Catalog writes CatalogEntries into the catalog workspace.
	Catalog client.Client
	// Inventory, if set, also writes each listed export's consumers into the provider's workspace.
	Inventory *Inventory
	// Workspaces lists, straight from kcp and not from a cache, the logical clusters that Clusters
	// engages (Ready workspaces that pass the fleet's filters). The start-up pass uses it to know
	// when the fleet is complete.
	Workspaces func(ctx context.Context) ([]multicluster.ClusterName, error)
	Log        logr.Logger

	// caughtUp is set once every workspace of the fleet has been engaged (waitForFleet); before,
	// a workspace that is not engaged may simply not be engaged yet, so its entries stay.
	caughtUp atomic.Bool
	// ready is set once the start-up pass is done.
	ready atomic.Bool

	mu sync.Mutex
	// reported is, per export ("<cluster>/<export>"), the problem last reported per binding
	// ("<cluster>/<binding>"), so that an event is recorded when a problem appears or changes, not
	// on every recount. Each recount replaces the export's record, so deleted and healthy bindings
	// are forgotten; removing an export forgets its record.
	reported map[string]map[string]string
}

func (r *Reconciler) unreadyAfter() time.Duration {
	if r.UnreadyAfter == 0 {
		return 2 * time.Minute
	}
	return r.UnreadyAfter
}

// reportTarget is a binding an event may be recorded on, with its workspace.
type reportTarget struct {
	cluster cluster.Cluster
	binding *apisv1alpha2.APIBinding
}

// report records the recount of one export's consumers (binding key -> problem) and a Warning
// event on each binding whose problem is new.
func (r *Reconciler) report(export string, problems map[string]string, targets map[string]reportTarget) {
	r.mu.Lock()
	toReport, keep := newProblems(r.reported[export], problems)
	if r.reported == nil {
		r.reported = map[string]map[string]string{}
	}
	if len(keep) == 0 {
		delete(r.reported, export)
	} else {
		r.reported[export] = keep
	}
	r.mu.Unlock()
	for _, key := range toReport {
		t := targets[key]
		t.cluster.GetEventRecorderFor("bindery-manager").Event(t.binding, corev1.EventTypeWarning, "BindingUnhealthy", problems[key])
	}
}

// forget drops the record of reported problems of an export.
func (r *Reconciler) forget(export string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.reported, export)
}

// Reconcile brings the catalog entry of one APIExport in line with it.
func (r *Reconciler) Reconcile(ctx context.Context, req mcreconcile.Request) (reconcile.Result, error) {
	cl, export, err := r.observe(ctx, req)
	if err != nil {
		return reconcile.Result{}, err
	}
	if export == nil {
		if cl == nil && !r.caughtUp.Load() {
			// The workspace may not be engaged yet (a consumer's binding can point at it first):
			// look again later rather than delete a valid entry.
			return reconcile.Result{RequeueAfter: recount}, nil
		}
		return reconcile.Result{}, r.remove(ctx, cl, req)
	}
	spec, err := r.describe(ctx, cl, req.ClusterName.String(), export)
	if err != nil {
		return reconcile.Result{}, err
	}
	consumers, err := r.consumersOf(ctx, exportKey(req), export.Spec.PermissionClaims)
	if err != nil {
		return reconcile.Result{}, err
	}
	if err := r.upsert(ctx, EntryName(req.ClusterName.String(), req.Name), spec, int32(len(consumers))); err != nil {
		return reconcile.Result{}, err
	}
	if r.Inventory != nil {
		if err := r.Inventory.Write(ctx, cl, export.Name, consumers); err != nil {
			return reconcile.Result{}, err
		}
	}
	return reconcile.Result{RequeueAfter: recount}, nil
}

func exportKey(req mcreconcile.Request) string { return req.ClusterName.String() + "/" + req.Name }

// observe reads the export of a request from the fleet's cache. It returns the workspace (nil
// when it is not engaged) and the export, or nil when the export is gone or not listed.
func (r *Reconciler) observe(ctx context.Context, req mcreconcile.Request) (cluster.Cluster, *apisv1alpha2.APIExport, error) {
	if req.ClusterName == "" {
		return nil, nil, nil // the manager's own cluster (the catalog workspace) is not in the fleet
	}
	cl, err := r.Clusters.GetCluster(ctx, req.ClusterName)
	if err != nil {
		return nil, nil, nil // the workspace is gone, no longer Ready, or not engaged yet
	}
	// A workspace being deleted is gone for the catalog, even while kcp still serves what is in
	// it; so is an export being deleted.
	lc := &corev1alpha1.LogicalCluster{}
	if err := cl.GetClient().Get(ctx, client.ObjectKey{Name: corev1alpha1.LogicalClusterName}, lc); err == nil && !lc.DeletionTimestamp.IsZero() {
		return nil, nil, nil
	}
	export := &apisv1alpha2.APIExport{}
	if err := cl.GetClient().Get(ctx, req.NamespacedName, export); err != nil {
		if apierrors.IsNotFound(err) {
			return cl, nil, nil
		}
		return cl, nil, err
	}
	if export.Labels[catalogv1alpha1.ListedLabel] != "true" || !export.DeletionTimestamp.IsZero() {
		return cl, nil, nil
	}
	return cl, export, nil
}

// remove deletes the entry of an export that is gone or unlisted and, if its workspace is still
// engaged (cl != nil), its inventory there.
func (r *Reconciler) remove(ctx context.Context, cl cluster.Cluster, req mcreconcile.Request) error {
	r.forget(exportKey(req))
	if err := r.deleteEntry(ctx, EntryName(req.ClusterName.String(), req.Name)); err != nil {
		return err
	}
	if cl == nil || r.Inventory == nil {
		return nil
	}
	return r.Inventory.Remove(ctx, cl, req.Name)
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
// engaged workspace (an index lookup each, no listing of all bindings), sorted by path. A workspace
// with several bindings to the export is described by its best one (see representative); every
// binding's problem is reported on that binding.
func (r *Reconciler) consumersOf(ctx context.Context, export string, claims []apisv1alpha2.PermissionClaim) ([]inventoryv1alpha1.Consumer, error) {
	now := time.Now()
	var consumers []inventoryv1alpha1.Consumer
	problems := map[string]string{}
	targets := map[string]reportTarget{}
	for _, name := range r.Clusters.ClusterNames() {
		cl, err := r.Clusters.GetCluster(ctx, name)
		if err != nil {
			continue // disengaged meanwhile
		}
		bindings := &apisv1alpha2.APIBindingList{}
		if err := cl.GetCache().List(ctx, bindings, client.MatchingFields{ExportIndex: export}); err != nil {
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
		found := make([]string, len(bindings.Items))
		for i := range bindings.Items {
			binding := &bindings.Items[i]
			found[i] = problemOf(binding, claims, r.unreadyAfter(), now)
			key := name.String() + "/" + binding.Name
			problems[key], targets[key] = found[i], reportTarget{cluster: cl, binding: binding}
		}
		best := representative(bindings.Items, found)
		consumer := consumerOf(name.String(), path, &bindings.Items[best])
		consumer.Problem = found[best]
		consumers = append(consumers, consumer)
	}
	r.report(export, problems, targets)
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
