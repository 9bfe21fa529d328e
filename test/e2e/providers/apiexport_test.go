package providers

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	mcbuilder "sigs.k8s.io/multicluster-runtime/pkg/builder"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"
	mcreconcile "sigs.k8s.io/multicluster-runtime/pkg/reconcile"

	"github.com/bindery-dev/bindery/providers/apiexport"
	"github.com/bindery-dev/bindery/test/framework"
)

const (
	widgetGroup = "providers.bindery.dev"
	// Annotations the test controllers write: the cluster they reconciled the object in, and how
	// many objects of the same size an indexed List returned in that cluster.
	reconciledIn = "e2e.bindery.dev/reconciled-in"
	sameSize     = "e2e.bindery.dev/same-size"
)

// TestAPIExportProvider runs a controller over the consumers of an export: it must reconcile each
// consumer's widget in the right cluster, answer indexed lists per cluster, resolve workspace
// paths, disengage a consumer that unbinds and engage one that binds late.
func TestAPIExportProvider(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)

	provider := framework.NewWorkspace(t, "provider")
	logicalClusters := framework.Claim("core.kcp.io", "logicalclusters", "get", "list", "watch")
	framework.ExportWidgets(t, provider, "widgets", widgetGroup, logicalClusters)
	consumers := make([]*framework.Workspace, 3)
	for i := range consumers {
		consumers[i] = framework.NewWorkspace(t, "consumer")
		framework.Bind(t, consumers[i], provider.Path, "widgets", logicalClusters)
	}

	p, err := apiexport.New(provider.Config, "widgets", apiexport.Options{
		Scheme: framework.Scheme, ResolvePaths: true, Log: framework.Logger(t).WithName("provider"),
	})
	if err != nil {
		t.Fatal(err)
	}
	mgr := newManager(t, provider.Config, p)
	widget := framework.NewWidget(widgetGroup, "", "", "")
	if err := mgr.GetFieldIndexer().IndexField(ctx, widget, "spec.size", func(obj client.Object) []string {
		size, _, _ := unstructured.NestedString(obj.(*unstructured.Unstructured).Object, "spec", "size")
		return []string{size}
	}); err != nil {
		t.Fatalf("indexing spec.size: %v", err)
	}
	if err := mcbuilder.ControllerManagedBy(mgr).Named("widgets").For(widget).Complete(annotateWidgets(mgr)); err != nil {
		t.Fatal(err)
	}
	startManager(t, mgr)

	for _, consumer := range consumers {
		framework.CreateWhenServed(t, consumer.Client, framework.NewWidget(widgetGroup, "default", "w", "small"))
	}
	for _, consumer := range consumers {
		waitForAnnotations(t, consumer, "default", "w", consumer.Cluster.String(), "1")
	}

	t.Log("a workspace path resolves to the same cluster as its logical cluster name")
	framework.WaitFor(t, time.Minute, "Get by path "+consumers[0].Path.String(), func(ctx context.Context) (bool, string, error) {
		byPath, err := p.Get(ctx, multicluster.ClusterName(consumers[0].Path.String()))
		if err != nil {
			return false, "", err
		}
		byName, err := p.Get(ctx, multicluster.ClusterName(consumers[0].Cluster))
		return byPath == byName, "different clusters", err
	})

	t.Log("unbinding disengages the consumer")
	gone := consumers[2]
	if err := gone.Client.Delete(ctx, framework.BindingFor("widgets")); err != nil {
		t.Fatalf("deleting the APIBinding in %s: %v", gone.Path, err)
	}
	waitForDisengaged(t, p, gone)
	if _, err := p.Get(ctx, multicluster.ClusterName(consumers[0].Cluster)); err != nil {
		t.Fatalf("consumer %s should still be engaged: %v", consumers[0].Path, err)
	}

	t.Log("a late binding engages its workspace")
	late := framework.NewWorkspace(t, "late")
	framework.Bind(t, late, provider.Path, "widgets", logicalClusters)
	framework.CreateWhenServed(t, late.Client, framework.NewWidget(widgetGroup, "default", "w", "small"))
	waitForAnnotations(t, late, "default", "w", late.Cluster.String(), "1")
}

// annotateWidgets is the test controller: it lists the widgets of the same size in the request's
// cluster through the field index and records that count and the cluster name on the widget.
func annotateWidgets(mgr mcmanager.Manager) mcreconcile.Func {
	return func(ctx context.Context, req mcreconcile.Request) (reconcile.Result, error) {
		cl, err := mgr.GetCluster(ctx, req.ClusterName)
		if err != nil {
			return reconcile.Result{}, err
		}
		obj := framework.NewWidget(widgetGroup, "", "", "")
		if err := cl.GetClient().Get(ctx, req.NamespacedName, obj); err != nil {
			return reconcile.Result{}, client.IgnoreNotFound(err)
		}
		size, _, _ := unstructured.NestedString(obj.Object, "spec", "size")
		same := &unstructured.UnstructuredList{}
		same.SetGroupVersionKind(obj.GroupVersionKind())
		if err := cl.GetCache().List(ctx, same, client.MatchingFields{"spec.size": size}); err != nil {
			return reconcile.Result{}, err
		}
		patch := client.MergeFrom(obj.DeepCopy())
		annotations := obj.GetAnnotations()
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[reconciledIn] = req.ClusterName.String()
		annotations[sameSize] = fmt.Sprint(len(same.Items))
		obj.SetAnnotations(annotations)
		return reconcile.Result{}, cl.GetClient().Patch(ctx, obj, patch)
	}
}

// waitForAnnotations waits until a controller annotated the object with the expected values.
func waitForAnnotations(t *testing.T, ws *framework.Workspace, namespace, name, cluster, count string) {
	t.Helper()
	framework.WaitFor(t, 2*time.Minute, fmt.Sprintf("%s/%s in %s to be reconciled", namespace, name, ws.Path), func(ctx context.Context) (bool, string, error) {
		obj := framework.NewWidget(widgetGroup, "", "", "")
		if err := ws.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj); err != nil {
			return false, "", err
		}
		got := obj.GetAnnotations()
		return got[reconciledIn] == cluster && got[sameSize] == count,
			fmt.Sprintf("%s=%q %s=%q, want %q and %q", reconciledIn, got[reconciledIn], sameSize, got[sameSize], cluster, count), nil
	})
}

// waitForDisengaged waits until the provider no longer knows the workspace's cluster.
func waitForDisengaged(t *testing.T, p multicluster.Provider, ws *framework.Workspace) {
	t.Helper()
	framework.WaitFor(t, time.Minute, fmt.Sprintf("%s to be disengaged", ws.Path), func(ctx context.Context) (bool, string, error) {
		_, err := p.Get(ctx, multicluster.ClusterName(ws.Cluster))
		if errors.Is(err, multicluster.ErrClusterNotFound) {
			return true, "", nil
		}
		return false, "still engaged", err
	})
}
