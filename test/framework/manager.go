package framework

import (
	"context"
	"sync"
	"testing"

	"github.com/kcp-dev/logicalcluster/v3"
	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	catalogv1alpha1 "github.com/bindery-dev/bindery/apis/catalog/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/manager"
)

// RunManager runs bindery-manager in the test process against the test binary's kcp (the admin
// as its catalog identity, the shard admin as its fleet identity), with the catalog at
// catalogPath, until the test ends or the returned stop is called. customize (may be nil) changes
// its options: leader election on, no metrics or probes, by default.
func RunManager(t testing.TB, catalogPath logicalcluster.Path, customize func(*manager.Options)) (stop func()) {
	t.Helper()
	kcp := KCP(t)
	shardAdmin, err := kcp.ShardAdminConfig()
	if err != nil {
		t.Fatal(err)
	}
	opts := manager.Options{
		Config: kcp.AdminConfig(), FleetConfig: shardAdmin, CatalogWorkspace: catalogPath, LeaderElection: true,
		MetricsBindAddress: "0", HealthProbeBindAddress: "0", Log: Logger(t).WithName("manager"),
		SkipControllerNameValidation: true, // a test binary may run several managers
	}
	if customize != nil {
		customize(&opts)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- manager.Run(ctx, opts) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("manager stopped with error: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// ListExport opts the APIExport name in ws in to the catalog under displayName.
func ListExport(t testing.TB, ws *Workspace, name, displayName string) {
	t.Helper()
	ctx := Context(t)
	export := &apisv1alpha2.APIExport{}
	if err := ws.Client.Get(ctx, ctrlclient.ObjectKey{Name: name}, export); err != nil {
		t.Fatal(err)
	}
	// A merge patch: kcp (and a syncagent) update the export's status and spec meanwhile.
	patch := ctrlclient.MergeFrom(export.DeepCopy())
	if export.Labels == nil {
		export.Labels = map[string]string{}
	}
	if export.Annotations == nil {
		export.Annotations = map[string]string{}
	}
	export.Labels[catalogv1alpha1.ListedLabel] = "true"
	export.Annotations[catalogv1alpha1.DisplayNameAnnotation] = displayName
	if err := ws.Client.Patch(ctx, export, patch); err != nil {
		t.Fatal(err)
	}
}
