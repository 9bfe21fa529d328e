package providers

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	mcbuilder "sigs.k8s.io/multicluster-runtime/pkg/builder"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"
	mcreconcile "sigs.k8s.io/multicluster-runtime/pkg/reconcile"

	"github.com/bindery-dev/bindery/providers/workspaces"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestWorkspacesProvider runs a controller over the workspaces below an org: each workspace's
// ConfigMap is reconciled in the right cluster, a workspace outside the org is left alone, and
// workspaces created or deleted while the manager runs are engaged and disengaged.
func TestWorkspacesProvider(t *testing.T) {
	t.Parallel()
	org := framework.NewWorkspace(t, "org")
	teams := []*framework.Workspace{
		framework.NewWorkspace(t, "team", framework.InParent(org.Path)),
		framework.NewWorkspace(t, "team", framework.InParent(org.Path)),
	}
	outsider := framework.NewWorkspace(t, "outsider")

	// Watching LogicalClusters across all workspaces takes the shard admin, not the workspace admin.
	shardAdmin, err := framework.KCP(t).ShardAdminConfig()
	if err != nil {
		t.Fatal(err)
	}
	p, err := workspaces.New(shardAdmin, workspaces.Options{
		Scheme: framework.Scheme, PathPrefix: org.Path, Log: framework.Logger(t).WithName("provider"),
	})
	if err != nil {
		t.Fatal(err)
	}
	mgr := newManager(t, org.Config, p)
	if err := mcbuilder.ControllerManagedBy(mgr).Named("probes").For(&corev1.ConfigMap{}).Complete(annotateProbes(mgr)); err != nil {
		t.Fatal(err)
	}
	startManager(t, mgr)

	for _, ws := range append([]*framework.Workspace{org}, teams...) {
		createProbe(t, ws)
		waitForProbe(t, ws)
	}
	if _, err := p.Get(framework.Context(t), multicluster.ClusterName(teams[0].Path.String())); err != nil {
		t.Fatalf("Get by path %s: %v", teams[0].Path, err)
	}
	if _, err := p.Get(framework.Context(t), multicluster.ClusterName(outsider.Cluster)); !errors.Is(err, multicluster.ErrClusterNotFound) {
		t.Fatalf("workspace %s is outside %s and must not be engaged; Get returned %v", outsider.Path, org.Path, err)
	}

	t.Log("a workspace created while the manager runs is engaged")
	late := framework.NewWorkspace(t, "team", framework.InParent(org.Path))
	createProbe(t, late)
	waitForProbe(t, late)

	t.Log("a deleted workspace is disengaged")
	teams[1].Delete(t)
	waitForDisengaged(t, p, teams[1])
}

// annotateProbes records on each "probe" ConfigMap the cluster it was reconciled in.
func annotateProbes(mgr mcmanager.Manager) mcreconcile.Func {
	return func(ctx context.Context, req mcreconcile.Request) (reconcile.Result, error) {
		if req.Name != "probe" {
			return reconcile.Result{}, nil
		}
		cl, err := mgr.GetCluster(ctx, req.ClusterName)
		if err != nil {
			return reconcile.Result{}, err
		}
		cm := &corev1.ConfigMap{}
		if err := cl.GetClient().Get(ctx, req.NamespacedName, cm); err != nil {
			return reconcile.Result{}, client.IgnoreNotFound(err)
		}
		patch := client.MergeFrom(cm.DeepCopy())
		metav1.SetMetaDataAnnotation(&cm.ObjectMeta, reconciledIn, req.ClusterName.String())
		return reconcile.Result{}, cl.GetClient().Patch(ctx, cm, patch)
	}
}

func createProbe(t *testing.T, ws *framework.Workspace) {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: "default"}}
	framework.CreateWhenServed(t, ws.Client, cm)
}

func waitForProbe(t *testing.T, ws *framework.Workspace) {
	t.Helper()
	framework.WaitFor(t, 2*time.Minute, fmt.Sprintf("probe in %s to be reconciled", ws.Path), func(ctx context.Context) (bool, string, error) {
		cm := &corev1.ConfigMap{}
		if err := ws.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "probe"}, cm); err != nil {
			return false, "", err
		}
		got := cm.Annotations[reconciledIn]
		return got == ws.Cluster.String(), fmt.Sprintf("%s=%q, want %q", reconciledIn, got, ws.Cluster), nil
	})
}
