package manager

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/kcp-dev/logicalcluster/v3"
	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	catalogv1alpha1 "github.com/bindery-dev/bindery/apis/catalog/v1alpha1"
	inventoryv1alpha1 "github.com/bindery-dev/bindery/apis/inventory/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/catalog"
	"github.com/bindery-dev/bindery/pkg/manager"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestPruneAtStart deletes an export and a whole provider workspace while no manager runs. A new
// manager removes both entries (and the inventory binding the deleted export leaves behind) before
// it reports ready, and never deletes the entry of an export that still exists. A standby replica
// reports ready at once.
func TestPruneAtStart(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	keep := framework.NewWorkspace(t, "keep")
	deleted := framework.NewWorkspace(t, "deleted")
	gone := framework.NewWorkspace(t, "gone")
	for _, p := range []struct {
		ws   *framework.Workspace
		name string
	}{{keep, "keep"}, {deleted, "deleted"}, {gone, "gone"}} {
		framework.ExportWidgets(t, p.ws, p.name, p.name+".prune.example.com")
		framework.ListExport(t, p.ws, p.name, p.name)
	}
	keepEntry := catalog.EntryName(keep.Cluster.String(), "keep")
	deletedEntry := catalog.EntryName(deleted.Cluster.String(), "deleted")
	goneEntry := catalog.EntryName(gone.Cluster.String(), "gone")

	catalogPath := logicalcluster.NewPath("root").Join(framework.UniqueName("catalog"))
	leaderHealth := freeAddress(t)
	stopFirst := framework.RunManager(t, catalogPath, func(o *manager.Options) {
		o.HealthProbeBindAddress, o.Log = leaderHealth, o.Log.WithName("first")
	})
	catalogClient := framework.NewClient(t, framework.KCP(t).ClusterConfig(catalogPath.String()))
	for _, name := range []string{keepEntry, deletedEntry, goneEntry} {
		waitForEntry(t, catalogClient, name, 0, time.Minute)
	}
	waitForReady(t, leaderHealth, time.Minute)
	waitForInventory(t, time.Minute, deleted, "deleted")
	before := &catalogv1alpha1.CatalogEntry{}
	if err := catalogClient.Get(ctx, client.ObjectKey{Name: keepEntry}, before); err != nil {
		t.Fatal(err)
	}

	t.Log("a standby replica is ready while the first manager leads")
	standbyHealth := freeAddress(t)
	stopStandby := framework.RunManager(t, catalogPath, func(o *manager.Options) {
		o.HealthProbeBindAddress, o.Log = standbyHealth, o.Log.WithName("standby")
	})
	waitForReady(t, standbyHealth, time.Minute)
	stopStandby()

	t.Log("while no manager runs, an export and a whole workspace are deleted")
	stopFirst()
	export := &apisv1alpha2.APIExport{}
	export.Name = "deleted"
	if err := deleted.Client.Delete(ctx, export); err != nil {
		t.Fatal(err)
	}
	gone.Delete(t)

	t.Log("a new manager prunes both entries before it is ready, and keeps the valid one")
	// Without leader election, /readyz answers 200 only once this replica caught up and pruned.
	health := freeAddress(t)
	started := time.Now()
	framework.RunManager(t, catalogPath, func(o *manager.Options) {
		o.LeaderElection, o.HealthProbeBindAddress, o.Log = false, health, o.Log.WithName("second")
	})
	waitForReady(t, health, 2*time.Minute)
	t.Logf("the new manager was ready after %s", time.Since(started).Round(time.Millisecond))
	for _, name := range []string{deletedEntry, goneEntry} {
		if err := catalogClient.Get(ctx, client.ObjectKey{Name: name}, &catalogv1alpha1.CatalogEntry{}); !apierrors.IsNotFound(err) {
			t.Errorf("entry %s of an export deleted while no manager ran: get says %v once the manager is ready, want NotFound", name, err)
		}
	}
	after := &catalogv1alpha1.CatalogEntry{}
	if err := catalogClient.Get(ctx, client.ObjectKey{Name: keepEntry}, after); err != nil {
		t.Fatalf("the valid entry %s: %v", keepEntry, err)
	}
	if after.UID != before.UID {
		t.Errorf("the valid entry %s was deleted and created again (uid %s, was %s)", keepEntry, after.UID, before.UID)
	}
	waitForGone(t, 30*time.Second, deleted.Client, &apisv1alpha2.APIBinding{}, catalog.InventoryBinding)
}

// TestUnlistRemovesInventory unlists one of two exports of a workspace, then deletes the other:
// the first removes that export's ExportInventory, the second also the bindery-inventory binding.
func TestUnlistRemovesInventory(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	provider := framework.NewWorkspace(t, "unlist")
	for _, name := range []string{"alpha", "beta"} {
		framework.ExportWidgets(t, provider, name, name+".unlist.example.com")
		framework.ListExport(t, provider, name, name)
	}
	consumer := framework.NewWorkspace(t, "consumer")
	framework.Bind(t, consumer, provider.Path, "alpha")

	catalogPath := logicalcluster.NewPath("root").Join(framework.UniqueName("catalog"))
	framework.RunManager(t, catalogPath, nil)
	catalogClient := framework.NewClient(t, framework.KCP(t).ClusterConfig(catalogPath.String()))
	alphaEntry := catalog.EntryName(provider.Cluster.String(), "alpha")
	betaEntry := catalog.EntryName(provider.Cluster.String(), "beta")
	waitForEntry(t, catalogClient, alphaEntry, 1, time.Minute)
	waitForEntry(t, catalogClient, betaEntry, 0, time.Minute)
	waitForInventory(t, time.Minute, provider, "alpha", consumer)
	waitForInventory(t, time.Minute, provider, "beta")

	t.Log("unlisting alpha removes its entry and inventory; beta keeps the binding")
	export := &apisv1alpha2.APIExport{}
	if err := provider.Client.Get(ctx, client.ObjectKey{Name: "alpha"}, export); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(export.DeepCopy())
	delete(export.Labels, catalogv1alpha1.ListedLabel)
	if err := provider.Client.Patch(ctx, export, patch); err != nil {
		t.Fatal(err)
	}
	waitForGone(t, 10*time.Second, catalogClient, &catalogv1alpha1.CatalogEntry{}, alphaEntry)
	waitForGone(t, 10*time.Second, provider.Client, &inventoryv1alpha1.ExportInventory{}, "alpha")
	if err := provider.Client.Get(ctx, client.ObjectKey{Name: catalog.InventoryBinding}, &apisv1alpha2.APIBinding{}); err != nil {
		t.Fatalf("the inventory binding while beta is still listed: %v", err)
	}
	waitForInventory(t, 10*time.Second, provider, "beta")

	t.Log("deleting beta, the last listed export, removes the inventory binding")
	export = &apisv1alpha2.APIExport{}
	export.Name = "beta"
	if err := provider.Client.Delete(ctx, export); err != nil {
		t.Fatal(err)
	}
	waitForGone(t, 10*time.Second, catalogClient, &catalogv1alpha1.CatalogEntry{}, betaEntry)
	waitForGone(t, 30*time.Second, provider.Client, &apisv1alpha2.APIBinding{}, catalog.InventoryBinding)
}

// waitForGone waits until the cluster-scoped object is not found, or its API is no longer served.
func waitForGone(t *testing.T, timeout time.Duration, c client.Client, obj client.Object, name string) {
	t.Helper()
	framework.WaitFor(t, timeout, fmt.Sprintf("%T %s to be gone", obj, name), func(ctx context.Context) (bool, string, error) {
		err := c.Get(ctx, client.ObjectKey{Name: name}, obj)
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			return true, "", nil
		}
		return false, fmt.Sprintf("get: %v, deleting: %v", err, obj.GetDeletionTimestamp() != nil), nil
	})
}

// freeAddress returns a local address with a port that was free a moment ago.
func freeAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitForReady waits until the health probe server at addr answers /readyz with 200.
func waitForReady(t *testing.T, addr string, timeout time.Duration) {
	t.Helper()
	framework.WaitFor(t, timeout, "/readyz at "+addr+" to answer 200", func(ctx context.Context) (bool, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/readyz?verbose", nil)
		if err != nil {
			return false, "", err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, "", err
		}
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status, nil
	})
}
