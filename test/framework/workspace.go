package framework

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kcp-dev/logicalcluster/v3"
	corev1alpha1 "github.com/kcp-dev/sdk/apis/core/v1alpha1"
	tenancyv1alpha1 "github.com/kcp-dev/sdk/apis/tenancy/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/rest"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
)

// Workspace is a kcp workspace made for one test.
type Workspace struct {
	// Path is the workspace's path, e.g. root:e2e-provider-x7k2q.
	Path logicalcluster.Path
	// Cluster is the name of the logical cluster behind the workspace.
	Cluster logicalcluster.Name
	// Config is an admin rest.Config scoped to the workspace.
	Config *rest.Config
	// Client is a controller-runtime client for Config with the framework's Scheme.
	Client ctrlclient.Client

	parent ctrlclient.Client
	name   string
}

// Delete deletes the workspace (kcp then removes its logical cluster) and waits until it is gone.
func (w *Workspace) Delete(t testing.TB) {
	t.Helper()
	ws := &tenancyv1alpha1.Workspace{ObjectMeta: metav1.ObjectMeta{Name: w.name}}
	if err := w.parent.Delete(Context(t), ws); err != nil {
		t.Fatalf("deleting workspace %s: %v", w.Path, err)
	}
	WaitFor(t, 2*time.Minute, fmt.Sprintf("workspace %s to be gone", w.Path), func(ctx context.Context) (bool, string, error) {
		err := w.parent.Get(ctx, ctrlclient.ObjectKeyFromObject(ws), ws)
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		return false, fmt.Sprintf("phase %q", ws.Status.Phase), err
	})
}

// WorkspaceOption customises NewWorkspace.
type WorkspaceOption func(*workspaceOptions)

type workspaceOptions struct {
	parent   logicalcluster.Path
	typ      *tenancyv1alpha1.WorkspaceTypeReference
	location *tenancyv1alpha1.WorkspaceLocation
}

// InParent creates the workspace below parent instead of root, e.g. root:org for root:org:team.
func InParent(parent logicalcluster.Path) WorkspaceOption {
	return func(o *workspaceOptions) { o.parent = parent }
}

// OfType sets the workspace type (default: the parent's default child type).
func OfType(name string, path logicalcluster.Path) WorkspaceOption {
	return func(o *workspaceOptions) {
		o.typ = &tenancyv1alpha1.WorkspaceTypeReference{Name: tenancyv1alpha1.WorkspaceTypeName(name), Path: path.String()}
	}
}

// NewWorkspace creates a workspace named "<prefix>-<random>", waits until it is Ready and deletes
// it when the test ends.
func NewWorkspace(t testing.TB, prefix string, opts ...WorkspaceOption) *Workspace {
	t.Helper()
	o := workspaceOptions{parent: logicalcluster.NewPath("root")}
	for _, opt := range opts {
		opt(&o)
	}
	kcp := kcpFront(t)
	parent := NewClient(t, kcp.ClusterConfig(o.parent.String()))

	ws := &tenancyv1alpha1.Workspace{
		ObjectMeta: metav1.ObjectMeta{Name: UniqueName(prefix)},
		Spec:       tenancyv1alpha1.WorkspaceSpec{Type: o.typ, Location: o.location},
	}
	// A parent that just turned Ready may not serve the Workspace API for a moment yet.
	CreateWhenServed(t, parent, ws)
	t.Cleanup(func() {
		// Best effort: the whole kcp goes away at the end of the test binary anyway.
		_ = parent.Delete(context.Background(), ws)
	})

	WaitFor(t, 2*time.Minute, fmt.Sprintf("workspace %s:%s to be Ready", o.parent, ws.Name), func(ctx context.Context) (bool, string, error) {
		if err := parent.Get(ctx, ctrlclient.ObjectKeyFromObject(ws), ws); err != nil {
			return false, "", err
		}
		return ws.Status.Phase == corev1alpha1.LogicalClusterPhaseReady && ws.Spec.Cluster != "",
			fmt.Sprintf("phase %q", ws.Status.Phase), nil
	})

	path := o.parent.Join(ws.Name)
	cfg := kcp.ClusterConfig(path.String())
	return &Workspace{
		Path:    path,
		Cluster: logicalcluster.Name(ws.Spec.Cluster),
		Config:  cfg,
		Client:  NewClient(t, cfg),
		parent:  parent,
		name:    ws.Name,
	}
}

// NewClient returns a controller-runtime client with the framework's Scheme.
func NewClient(t testing.TB, cfg *rest.Config) ctrlclient.Client {
	t.Helper()
	cfg = rest.CopyConfig(cfg)
	// Tests poll; client-go's default of 5 requests per second would make them wait on themselves.
	cfg.QPS, cfg.Burst = 100, 200
	c, err := ctrlclient.New(cfg, ctrlclient.Options{Scheme: Scheme})
	if err != nil {
		t.Fatalf("creating client for %s: %v", cfg.Host, err)
	}
	return c
}

// UniqueName returns "<prefix>-<5 random characters>", a valid DNS label for a short prefix.
func UniqueName(prefix string) string {
	return strings.ToLower(prefix) + "-" + utilrand.String(5)
}
