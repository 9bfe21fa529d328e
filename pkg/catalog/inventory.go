package catalog

import (
	"context"
	"fmt"
	"sync"

	"github.com/kcp-dev/logicalcluster/v3"
	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"

	catalogv1alpha1 "github.com/bindery-dev/bindery/apis/catalog/v1alpha1"
	inventoryv1alpha1 "github.com/bindery-dev/bindery/apis/inventory/v1alpha1"
)

// InventoryBinding is the APIBinding the manager creates in a provider's workspace to make the
// ExportInventory API available there.
const InventoryBinding = "bindery-inventory"

// Inventory writes ExportInventories into providers' workspaces. The API comes from an APIExport
// the manager publishes (ExportPath, ExportName); the manager binds it in each workspace that
// lists an export, so a provider reads its inventory with plain kubectl and nobody else sees it.
type Inventory struct {
	ExportPath logicalcluster.Path
	ExportName string
	Scheme     *runtime.Scheme

	mu sync.Mutex
	// clients per provider workspace: the ExportInventory API exists only in workspaces that bind
	// it, so the fleet's shared REST mapper (read from one workspace) cannot map it.
	clients map[string]client.Client
}

// Write makes the export's inventory in the provider's workspace list the consumers.
func (i *Inventory) Write(ctx context.Context, provider cluster.Cluster, exportName string, consumers []inventoryv1alpha1.Consumer) error {
	bound, err := i.ensureBinding(ctx, provider.GetClient())
	if err != nil || !bound {
		return err // once Bound, the periodic recount writes the inventory
	}
	c, err := i.clientFor(provider)
	if err != nil {
		return err
	}
	desired := &inventoryv1alpha1.ExportInventory{
		ObjectMeta: metav1.ObjectMeta{Name: exportName},
		Consumers:  consumers,
	}
	for _, consumer := range consumers {
		desired.Summary.Consumers++
		if consumer.Ready {
			desired.Summary.Ready++
		}
		if consumer.Problem != "" {
			desired.Summary.Unhealthy++
		}
	}
	existing := &inventoryv1alpha1.ExportInventory{}
	switch err := c.Get(ctx, client.ObjectKey{Name: exportName}, existing); {
	case apierrors.IsNotFound(err):
		if err := c.Create(ctx, desired); err != nil {
			return fmt.Errorf("creating the inventory of %s: %w", exportName, err)
		}
		return nil
	case err != nil:
		return err
	case equality.Semantic.DeepEqual(existing.Summary, desired.Summary) && equality.Semantic.DeepEqual(existing.Consumers, desired.Consumers):
		return nil
	}
	existing.Summary, existing.Consumers = desired.Summary, desired.Consumers
	if err := c.Update(ctx, existing); err != nil {
		return fmt.Errorf("updating the inventory of %s: %w", exportName, err)
	}
	return nil
}

// ensureBinding binds the inventory API in the provider's workspace and reports whether it is Bound.
func (i *Inventory) ensureBinding(ctx context.Context, c client.Client) (bool, error) {
	binding := &apisv1alpha2.APIBinding{}
	err := c.Get(ctx, client.ObjectKey{Name: InventoryBinding}, binding)
	if apierrors.IsNotFound(err) {
		binding = &apisv1alpha2.APIBinding{
			ObjectMeta: metav1.ObjectMeta{Name: InventoryBinding},
			Spec: apisv1alpha2.APIBindingSpec{Reference: apisv1alpha2.BindingReference{
				Export: &apisv1alpha2.ExportBindingReference{Path: i.ExportPath.String(), Name: i.ExportName},
			}},
		}
		if err := c.Create(ctx, binding); err != nil {
			return false, fmt.Errorf("binding the inventory API: %w", err)
		}
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return binding.Status.Phase == apisv1alpha2.APIBindingPhaseBound, nil
}

// Remove deletes the inventory of an export that is gone or no longer listed from the provider's
// workspace and, once no export there is listed any more, the inventory binding itself (kcp then
// deletes the ExportInventories that are left with it). Workspaces without the binding, i.e. every
// workspace that never listed an export, cost no request: the binding is read from the cache.
func (i *Inventory) Remove(ctx context.Context, provider cluster.Cluster, exportName string) error {
	binding := &apisv1alpha2.APIBinding{}
	if err := provider.GetClient().Get(ctx, client.ObjectKey{Name: InventoryBinding}, binding); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !i.owns(binding) {
		return nil // someone else's binding of that name
	}
	if binding.Status.Phase == apisv1alpha2.APIBindingPhaseBound && binding.DeletionTimestamp == nil {
		c, err := i.clientFor(provider)
		if err != nil {
			return err
		}
		inventory := &inventoryv1alpha1.ExportInventory{ObjectMeta: metav1.ObjectMeta{Name: exportName}}
		if err := c.Delete(ctx, inventory); err != nil && !apierrors.IsNotFound(err) && !meta.IsNoMatchError(err) {
			return fmt.Errorf("deleting the inventory of %s: %w", exportName, err)
		}
	}
	exports := &apisv1alpha2.APIExportList{}
	if err := provider.GetClient().List(ctx, exports, client.MatchingLabels{catalogv1alpha1.ListedLabel: "true"}); err != nil {
		return err
	}
	if stillListed(exports.Items, exportName) || binding.DeletionTimestamp != nil {
		return nil
	}
	if err := provider.GetClient().Delete(ctx, binding); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("unbinding the inventory API: %w", err)
	}
	i.drop(provider.GetConfig().Host)
	return nil
}

// stillListed reports whether an export other than the removed one is listed.
func stillListed(listed []apisv1alpha2.APIExport, removed string) bool {
	for _, export := range listed {
		if export.Name != removed && export.Labels[catalogv1alpha1.ListedLabel] == "true" {
			return true
		}
	}
	return false
}

// owns reports whether the binding is the manager's binding of the inventory API.
func (i *Inventory) owns(binding *apisv1alpha2.APIBinding) bool {
	ref := binding.Spec.Reference.Export
	return ref != nil && ref.Name == i.ExportName && ref.Path == i.ExportPath.String()
}

var _ mcmanager.Runnable = &Inventory{}

// Start does nothing but wait: the Inventory is a runnable only so that the multicluster manager
// engages it with every workspace of the fleet (see Engage).
func (i *Inventory) Start(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Engage drops the cached client of a workspace once the workspace is disengaged (deleted, no
// longer Ready, or its shard gone): a workspace deleted outright never reaches Remove, whose
// cleanup needs the workspace. A workspace engaged again gets a new client on first use.
func (i *Inventory) Engage(ctx context.Context, _ multicluster.ClusterName, cl cluster.Cluster) error {
	host := cl.GetConfig().Host
	context.AfterFunc(ctx, func() { i.drop(host) })
	return nil
}

// drop forgets the cached client of a provider workspace, by its URL.
func (i *Inventory) drop(host string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	delete(i.clients, host)
}

// clientFor returns the (cached) client for the inventory objects of one provider workspace.
func (i *Inventory) clientFor(provider cluster.Cluster) (client.Client, error) {
	cfg := provider.GetConfig()
	i.mu.Lock()
	defer i.mu.Unlock()
	if c, ok := i.clients[cfg.Host]; ok {
		return c, nil
	}
	c, err := client.New(cfg, client.Options{Scheme: i.Scheme, HTTPClient: provider.GetHTTPClient()})
	if err != nil {
		return nil, err
	}
	if i.clients == nil {
		i.clients = map[string]client.Client{}
	}
	i.clients[cfg.Host] = c
	return c, nil
}
