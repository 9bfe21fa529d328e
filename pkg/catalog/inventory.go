package catalog

import (
	"context"
	"fmt"
	"sync"

	"github.com/kcp-dev/logicalcluster/v3"
	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"

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
