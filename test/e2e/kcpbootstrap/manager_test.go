package kcpbootstrap

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	tenancyv1alpha1 "github.com/kcp-dev/sdk/apis/tenancy/v1alpha1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	catalogv1alpha1 "github.com/bindery-dev/bindery/apis/catalog/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/catalog"
	"github.com/bindery-dev/bindery/pkg/manager"
	"github.com/bindery-dev/bindery/test/framework"
)

// managerUser is the subject of deploy/kcp/catalog/manager-rbac.yaml.
const managerUser = "bindery-manager"

// TestManagerRBAC applies deploy/kcp/catalog/manager-rbac.yaml in a parent workspace and runs the
// manager with the User it names as its catalog identity (the fleet identity is the shard admin,
// as docs/manager.md says): the manager creates the catalog workspace, owns it, and fills in a
// CatalogEntry for a listed export with its consumer count. The identity cannot delete workspaces
// in the parent, nor create any outside it.
func TestManagerRBAC(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	kcp := framework.KCP(t)

	t.Log("an admin applies manager-rbac.yaml in the catalog's parent")
	parent := framework.NewWorkspace(t, "catalog-parent")
	apply(t, parent.Client, manifest(t, "deploy/kcp/catalog/manager-rbac.yaml")...)

	t.Log("a provider lists an export and a consumer binds it")
	provider := framework.NewWorkspace(t, "widgets")
	framework.ExportWidgets(t, provider, "widgets", "widgets.kcpbootstrap.example.com")
	export := &apisv1alpha2.APIExport{}
	if err := provider.Client.Get(ctx, ctrlclient.ObjectKey{Name: "widgets"}, export); err != nil {
		t.Fatal(err)
	}
	patch := ctrlclient.MergeFrom(export.DeepCopy())
	export.Labels = map[string]string{catalogv1alpha1.ListedLabel: "true"}
	export.Annotations = map[string]string{catalogv1alpha1.DisplayNameAnnotation: "Widgets"}
	if err := provider.Client.Patch(ctx, export, patch); err != nil {
		t.Fatal(err)
	}
	consumer := framework.NewWorkspace(t, "consumer")
	framework.Bind(t, consumer, provider.Path, "widgets")

	t.Log("the manager runs with " + managerUser + " as its catalog identity")
	catalogPath := parent.Path.Join("catalog")
	managerKCP := impersonating(shardAdmin(t), managerUser)
	startManager(t, manager.Options{Config: managerKCP, FleetConfig: shardAdmin(t), CatalogWorkspace: catalogPath})

	ws := waitForWorkspace(t, parent.Client, "catalog")
	owner := authenticationv1.UserInfo{}
	if err := json.Unmarshal([]byte(ws.Annotations[tenancyv1alpha1.ExperimentalWorkspaceOwnerAnnotationKey]), &owner); err != nil || owner.Username != managerUser {
		t.Errorf("the catalog workspace's owner is %q (%v), want %s", ws.Annotations[tenancyv1alpha1.ExperimentalWorkspaceOwnerAnnotationKey], err, managerUser)
	}
	catalogClient := framework.NewClient(t, kcp.ClusterConfig(catalogPath.String()))
	entryName := catalog.EntryName(provider.Cluster.String(), "widgets")
	framework.WaitFor(t, time.Minute, "catalog entry "+entryName+" with 1 consumer", func(ctx context.Context) (bool, string, error) {
		entry := &catalogv1alpha1.CatalogEntry{}
		if err := catalogClient.Get(ctx, ctrlclient.ObjectKey{Name: entryName}, entry); err != nil {
			return false, "", err
		}
		return entry.Spec.DisplayName == "Widgets" && entry.Status.Consumers == 1,
			fmt.Sprintf("display name %q, %d consumers", entry.Spec.DisplayName, entry.Status.Consumers), nil
	})

	t.Log("in the parent, " + managerUser + " holds exactly the rights of docs/manager.md")
	checkAccess(t, parent.Client, managerUser, []rule{
		{group: "tenancy.kcp.io", resource: "workspaces", allowed: []string{"get", "create"}, denied: []string{"list", "watch", "update", "patch", "delete"}},
		{resource: "secrets", denied: []string{"get", "list"}},
		{group: "rbac.authorization.k8s.io", resource: "clusterrolebindings", denied: []string{"create"}},
	})

	t.Log(managerUser + " may not do what manager-rbac.yaml does not grant")
	asManager := framework.NewClient(t, forCluster(managerKCP, parent.Path.String()))
	if err := asManager.Get(ctx, ctrlclient.ObjectKey{Name: "catalog"}, &tenancyv1alpha1.Workspace{}); err != nil {
		t.Fatalf("as %s, reading the catalog workspace as the file grants: %v", managerUser, err)
	}
	expectForbidden(t, "deleting the catalog workspace",
		asManager.Delete(ctx, &tenancyv1alpha1.Workspace{ObjectMeta: metav1.ObjectMeta{Name: "catalog"}}))
	expectForbidden(t, "listing workspaces in the parent", asManager.List(ctx, &tenancyv1alpha1.WorkspaceList{}))
	expectForbidden(t, "listing Secrets in the parent", asManager.List(ctx, &corev1.SecretList{}))
	inRoot := framework.NewClient(t, forCluster(managerKCP, "root"))
	expectForbidden(t, "creating a workspace in root, where the file was not applied",
		inRoot.Create(ctx, &tenancyv1alpha1.Workspace{ObjectMeta: metav1.ObjectMeta{Name: framework.UniqueName("not-allowed")}}))
}

// startManager runs bindery-manager in the test process until the test ends, with leader election
// (its Lease lives in the catalog workspace, so that right is exercised too).
func startManager(t *testing.T, opts manager.Options) {
	t.Helper()
	opts.LeaderElection = true
	opts.MetricsBindAddress = "0"
	opts.HealthProbeBindAddress = "0"
	opts.Log = framework.Logger(t).WithName("manager")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- manager.Run(ctx, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager stopped with error: %v", err)
		}
	})
}
