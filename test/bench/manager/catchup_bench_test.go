package manager

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kcp-dev/logicalcluster/v3"
	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	corev1alpha1 "github.com/kcp-dev/sdk/apis/core/v1alpha1"
	tenancyv1alpha1 "github.com/kcp-dev/sdk/apis/tenancy/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	catalogv1alpha1 "github.com/bindery-dev/bindery/apis/catalog/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/catalog"
	"github.com/bindery-dev/bindery/test/framework"
	"github.com/bindery-dev/bindery/test/servers"
)

const (
	fleetSize = 300 // workspaces, each with one APIBinding to the listed export
	creators  = 10  // workspaces created in parallel while setting up
)

// BenchmarkCatalogCatchUp builds a fleet of 300 workspaces that each bind one listed APIExport,
// then starts bindery-manager as a process and measures (b.N is ignored; run with -benchtime=1x):
//   - catch-up-s: from the process start until the catalog entry counts all 300 consumers;
//   - manager-peak-RSS-MB: the process's peak resident memory.
func BenchmarkCatalogCatchUp(b *testing.B) {
	kcp := framework.KCP(b)
	provider := framework.NewWorkspace(b, "bench-provider")
	framework.ExportWidgets(b, provider, "widgets", "fleet.bench.example.com")
	export := &apisv1alpha2.APIExport{}
	if err := provider.Client.Get(framework.Context(b), client.ObjectKey{Name: "widgets"}, export); err != nil {
		b.Fatal(err)
	}
	patch := client.MergeFrom(export.DeepCopy())
	export.Labels = map[string]string{catalogv1alpha1.ListedLabel: "true"}
	if err := provider.Client.Patch(framework.Context(b), export, patch); err != nil {
		b.Fatal(err)
	}
	fleet := framework.NewWorkspace(b, "bench-fleet")
	buildFleet(b, fleet, provider.Path)

	shardAdmin, err := kcp.ShardAdminConfig()
	if err != nil {
		b.Fatal(err)
	}
	catalogPath := logicalcluster.NewPath("root").Join(framework.UniqueName("catalog"))
	b.ResetTimer()
	start := time.Now()
	manager := framework.StartProcess(b, "manager", framework.Binary(b, "./cmd/bindery-manager"),
		"--kubeconfig", framework.WriteKubeconfig(b, "admin", kcp.AdminConfig()),
		"--fleet-kubeconfig", framework.WriteKubeconfig(b, "fleet", shardAdmin),
		"--catalog-workspace", catalogPath.String(),
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0")
	catalogClient := framework.NewClient(b, kcp.ClusterConfig(catalogPath.String()))
	entry := catalog.EntryName(provider.Cluster.String(), "widgets")
	framework.WaitFor(b, 10*time.Minute, fmt.Sprintf("the catalog to count %d consumers", fleetSize), func(ctx context.Context) (bool, string, error) {
		e := &catalogv1alpha1.CatalogEntry{}
		if err := catalogClient.Get(ctx, client.ObjectKey{Name: entry}, e); err != nil {
			return false, "", err
		}
		return e.Status.Consumers == fleetSize, fmt.Sprintf("%d consumers", e.Status.Consumers), nil
	})
	catchUp := time.Since(start)
	b.StopTimer()
	rss, err := manager.PeakRSS()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(catchUp.Seconds(), "catch-up-s")
	b.ReportMetric(float64(rss)/(1<<20), "manager-peak-RSS-MB")
}

// buildFleet creates fleetSize workspaces below parent, each binding the export, with a few
// creators in parallel; it returns once every binding is Bound.
func buildFleet(b *testing.B, parent *framework.Workspace, exportPath logicalcluster.Path) {
	kcp := framework.KCP(b)
	var wg sync.WaitGroup
	errs := make(chan error, fleetSize)
	next := make(chan int, fleetSize)
	for i := range fleetSize {
		next <- i
	}
	close(next)
	for range creators {
		wg.Go(func() {
			for i := range next {
				if err := bindingWorkspace(framework.Context(b), kcp, parent, fmt.Sprintf("team-%03d", i), exportPath); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// bindingWorkspace creates one workspace below parent and binds the export there. It returns
// errors instead of failing the benchmark, as it runs on other goroutines.
func bindingWorkspace(ctx context.Context, kcp *servers.KCP, parent *framework.Workspace, name string, exportPath logicalcluster.Path) error {
	ws := &tenancyv1alpha1.Workspace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := parent.Client.Create(ctx, ws); err != nil {
		return fmt.Errorf("creating workspace %s: %w", name, err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		err := parent.Client.Get(ctx, client.ObjectKeyFromObject(ws), ws)
		return err == nil && ws.Status.Phase == corev1alpha1.LogicalClusterPhaseReady, nil
	}); err != nil {
		return fmt.Errorf("waiting for workspace %s: %w", name, err)
	}
	c, err := client.New(kcp.ClusterConfig(parent.Path.Join(name).String()), client.Options{Scheme: framework.Scheme})
	if err != nil {
		return err
	}
	binding := &apisv1alpha2.APIBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets"},
		Spec: apisv1alpha2.APIBindingSpec{Reference: apisv1alpha2.BindingReference{
			Export: &apisv1alpha2.ExportBindingReference{Path: exportPath.String(), Name: "widgets"},
		}},
	}
	if err := c.Create(ctx, binding); err != nil {
		return fmt.Errorf("binding in %s: %w", name, err)
	}
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(binding), binding)
		return err == nil && binding.Status.Phase == apisv1alpha2.APIBindingPhaseBound, nil
	})
}
