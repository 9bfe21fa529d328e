package manager

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kcp-dev/logicalcluster/v3"
	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	catalogv1alpha1 "github.com/bindery-dev/bindery/apis/catalog/v1alpha1"
	inventoryv1alpha1 "github.com/bindery-dev/bindery/apis/inventory/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/catalog"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestCatalog lists two exports, binds them from three teams in nested workspaces and checks the
// catalog's consumer counts as a binding and a whole workspace go; unlisting removes the entry.
func TestCatalog(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	databases := framework.NewWorkspace(t, "databases")
	caches := framework.NewWorkspace(t, "caches")
	framework.ExportWidgets(t, databases, "databases", "databases.catalog.example.com")
	configMaps := framework.Claim("", "configmaps", "get", "list", "watch")
	framework.ExportWidgets(t, caches, "caches", "caches.catalog.example.com", configMaps)
	framework.ListExport(t, databases, "databases", "Managed PostgreSQL")
	framework.ListExport(t, caches, "caches", "Redis caches")

	org := framework.NewWorkspace(t, "org")
	teamA := framework.NewWorkspace(t, "team", framework.InParent(org.Path))
	teamB := framework.NewWorkspace(t, "team", framework.InParent(org.Path))
	teamC := framework.NewWorkspace(t, "team", framework.InParent(org.Path))
	framework.Bind(t, teamA, databases.Path, "databases")
	framework.Bind(t, teamB, databases.Path, "databases")
	framework.Bind(t, teamB, caches.Path, "caches", configMaps)
	framework.Bind(t, teamC, caches.Path, "caches", configMaps)
	teamD := framework.NewWorkspace(t, "team", framework.InParent(org.Path))
	rejectingBinding(t, teamD, caches.Path, "caches", configMaps)

	catalogPath := logicalcluster.NewPath("root").Join(framework.UniqueName("catalog"))
	framework.RunManager(t, catalogPath, nil)
	catalogClient := framework.NewClient(t, framework.KCP(t).ClusterConfig(catalogPath.String()))

	dbEntry := catalog.EntryName(databases.Cluster.String(), "databases")
	cacheEntry := catalog.EntryName(caches.Cluster.String(), "caches")
	waitForEntry(t, catalogClient, dbEntry, 2, time.Minute)
	waitForEntry(t, catalogClient, cacheEntry, 3, time.Minute)
	entry := &catalogv1alpha1.CatalogEntry{}
	if err := catalogClient.Get(ctx, client.ObjectKey{Name: dbEntry}, entry); err != nil {
		t.Fatal(err)
	}
	if entry.Spec.Export.Path != databases.Path.String() || entry.Spec.DisplayName != "Managed PostgreSQL" ||
		len(entry.Spec.Resources) != 1 || entry.Spec.Resources[0].Resource != "widgets" {
		t.Fatalf("catalog entry %s = %+v", dbEntry, entry.Spec)
	}

	t.Log("each provider sees exactly its consumers in its own workspace")
	waitForInventory(t, time.Minute, databases, "databases", teamA, teamB)
	waitForInventory(t, time.Minute, caches, "caches", teamB, teamC, teamD)

	t.Log("a binding that rejects a claim the export needs is flagged, and its workspace gets an event")
	waitForProblem(t, caches, "caches", teamD, "configmaps")
	framework.WaitFor(t, time.Minute, "a BindingUnhealthy event in "+teamD.Path.String(), func(ctx context.Context) (bool, string, error) {
		events := &corev1.EventList{}
		if err := teamD.Client.List(ctx, events); err != nil {
			return false, "", err
		}
		for _, e := range events.Items {
			if e.Reason == "BindingUnhealthy" && e.InvolvedObject.Name == "caches" {
				return true, "", nil
			}
		}
		return false, fmt.Sprintf("%d events, none BindingUnhealthy", len(events.Items)), nil
	})

	t.Log("kubectl bindery catalog prints the table, as any authenticated user may read it")
	plugin := framework.Binary(t, "./cmd/kubectl-bindery")
	out, err := exec.Command(plugin, "catalog", "--kubeconfig", framework.WriteKubeconfig(t, "admin", framework.KCP(t).AdminConfig()),
		"--catalog-workspace", catalogPath.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl bindery catalog: %v\n%s", err, out)
	}
	for _, want := range []string{"SERVICE", "Managed PostgreSQL", "Redis caches", databases.Path.String(), caches.Path.String()} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("kubectl bindery catalog output lacks %q:\n%s", want, out)
		}
	}

	out, err = exec.Command(plugin, "inventory", "--kubeconfig", framework.WriteKubeconfig(t, "databases", databases.Config)).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl bindery inventory: %v\n%s", err, out)
	}
	for _, want := range []string{"CONSUMER", teamA.Path.String(), teamB.Path.String()} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("kubectl bindery inventory output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), teamC.Path.String()) {
		t.Fatalf("the databases provider sees %s, which binds only caches:\n%s", teamC.Path, out)
	}

	t.Log("a deleted binding and a deleted workspace show in the catalog and the inventories within 10 s")
	if err := teamB.Client.Delete(ctx, framework.BindingFor("databases")); err != nil {
		t.Fatal(err)
	}
	waitForEntry(t, catalogClient, dbEntry, 1, 10*time.Second)
	waitForInventory(t, 10*time.Second, databases, "databases", teamA)
	teamC.Delete(t)
	waitForEntry(t, catalogClient, cacheEntry, 2, 10*time.Second)
	waitForInventory(t, 10*time.Second, caches, "caches", teamB, teamD)

	t.Log("unlisting an export removes its entry")
	export := &apisv1alpha2.APIExport{}
	if err := caches.Client.Get(ctx, client.ObjectKey{Name: "caches"}, export); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(export.DeepCopy())
	delete(export.Labels, catalogv1alpha1.ListedLabel)
	if err := caches.Client.Patch(ctx, export, patch); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, 10*time.Second, "the unlisted entry to go", func(ctx context.Context) (bool, string, error) {
		err := catalogClient.Get(ctx, client.ObjectKey{Name: cacheEntry}, &catalogv1alpha1.CatalogEntry{})
		return client.IgnoreNotFound(err) == nil && err != nil, fmt.Sprintf("get: %v", err), nil
	})
}

func waitForEntry(t *testing.T, c client.Client, name string, consumers int32, timeout time.Duration) {
	t.Helper()
	framework.WaitFor(t, timeout, fmt.Sprintf("catalog entry %s with %d consumers", name, consumers), func(ctx context.Context) (bool, string, error) {
		entry := &catalogv1alpha1.CatalogEntry{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, entry); err != nil {
			return false, "", err
		}
		return entry.Status.Consumers == consumers, fmt.Sprintf("%d consumers", entry.Status.Consumers), nil
	})
}

// waitForInventory waits until the provider's ExportInventory lists exactly the given consumers,
// each Ready.
func waitForInventory(t *testing.T, timeout time.Duration, provider *framework.Workspace, export string, consumers ...*framework.Workspace) {
	t.Helper()
	want := make([]string, 0, len(consumers))
	for _, c := range consumers {
		want = append(want, c.Path.String())
	}
	slices.Sort(want)
	framework.WaitFor(t, timeout, fmt.Sprintf("the inventory of %s to list %v", export, want), func(ctx context.Context) (bool, string, error) {
		inv := &inventoryv1alpha1.ExportInventory{}
		if err := provider.Client.Get(ctx, client.ObjectKey{Name: export}, inv); err != nil {
			return false, "", err
		}
		var got []string
		for _, c := range inv.Consumers {
			if !c.Ready {
				return false, c.Path + " not ready", nil
			}
			got = append(got, c.Path)
		}
		return slices.Equal(got, want) && inv.Summary.Consumers == int32(len(want)) && inv.Summary.Ready == int32(len(want)),
			fmt.Sprintf("%v (summary %+v)", got, inv.Summary), nil
	})
}

// rejectingBinding binds an export while rejecting the given claims, and waits until it is Bound.
func rejectingBinding(t *testing.T, consumer *framework.Workspace, exportPath logicalcluster.Path, name string, rejected ...apisv1alpha2.PermissionClaim) {
	t.Helper()
	binding := framework.BindingFor(name)
	binding.Spec.Reference.Export = &apisv1alpha2.ExportBindingReference{Path: exportPath.String(), Name: name}
	for _, claim := range rejected {
		binding.Spec.PermissionClaims = append(binding.Spec.PermissionClaims, apisv1alpha2.AcceptablePermissionClaim{
			ScopedPermissionClaim: apisv1alpha2.ScopedPermissionClaim{PermissionClaim: claim, Selector: apisv1alpha2.PermissionClaimSelector{MatchAll: true}},
			State:                 apisv1alpha2.ClaimRejected,
		})
	}
	if err := consumer.Client.Create(framework.Context(t), binding); err != nil {
		t.Fatal(err)
	}
}

// waitForProblem waits until the inventory flags the consumer with a problem mentioning text.
func waitForProblem(t *testing.T, provider *framework.Workspace, export string, consumer *framework.Workspace, text string) {
	t.Helper()
	framework.WaitFor(t, time.Minute, fmt.Sprintf("%s flagged in the inventory of %s", consumer.Path, export), func(ctx context.Context) (bool, string, error) {
		inv := &inventoryv1alpha1.ExportInventory{}
		if err := provider.Client.Get(ctx, client.ObjectKey{Name: export}, inv); err != nil {
			return false, "", err
		}
		for _, c := range inv.Consumers {
			if c.Path == consumer.Path.String() {
				return strings.Contains(c.Problem, text) && inv.Summary.Unhealthy == 1, fmt.Sprintf("problem %q, summary %+v", c.Problem, inv.Summary), nil
			}
		}
		return false, "not listed", nil
	})
}
