package fleet

import (
	"slices"
	"testing"

	"github.com/kcp-dev/logicalcluster/v3"
	corev1alpha1 "github.com/kcp-dev/sdk/apis/core/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
)

func TestSetEndpointsKeepsUnchangedEndpoints(t *testing.T) {
	e, err := NewEngine(Options{ObjectToWatch: &corev1alpha1.LogicalCluster{}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &rest.Config{}
	e.SetEndpoints(cfg, []string{"https://a/e", "https://b/e"})
	b := e.endpoints["https://b/e"]
	assertEndpoints(t, e, "https://a/e", "https://b/e")

	e.SetEndpoints(cfg, []string{"https://b/e", "https://c/e"})
	assertEndpoints(t, e, "https://b/e", "https://c/e")
	if e.endpoints["https://b/e"] != b {
		t.Error("an endpoint present before and after was recreated; its informers would restart")
	}

	e.SetEndpoints(cfg, nil)
	assertEndpoints(t, e)
}

func assertEndpoints(t *testing.T, e *Engine, want ...string) {
	t.Helper()
	got := e.Endpoints()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("endpoints = %v, want %v", got, want)
	}
}

func TestPathIndex(t *testing.T) {
	p := newPathIndex()
	h := p.handler()
	team := &corev1alpha1.LogicalCluster{ObjectMeta: metav1.ObjectMeta{
		Name:        "cluster",
		Annotations: map[string]string{"kcp.io/cluster": "abc", "kcp.io/path": "root:org:team"},
	}}
	h.OnAdd(team, false)
	if name, ok := p.lookup(logicalcluster.NewPath("root:org:team")); !ok || name != "abc" {
		t.Fatalf("lookup(root:org:team) = %q, %v; want abc", name, ok)
	}
	if _, ok := p.lookup(logicalcluster.NewPath("abc")); ok {
		t.Fatal("a logical cluster name is not a path")
	}
	h.OnDelete(toolscache.DeletedFinalStateUnknown{Obj: team})
	if _, ok := p.lookup(logicalcluster.NewPath("root:org:team")); ok {
		t.Fatal("the path of a deleted LogicalCluster must be forgotten")
	}
}
