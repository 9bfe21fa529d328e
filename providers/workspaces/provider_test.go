package workspaces

import (
	"testing"

	"github.com/kcp-dev/logicalcluster/v3"
	corev1alpha1 "github.com/kcp-dev/sdk/apis/core/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
)

func lc(name, path, typ string, phase corev1alpha1.LogicalClusterPhaseType, lbls map[string]string) *corev1alpha1.LogicalCluster {
	return &corev1alpha1.LogicalCluster{
		ObjectMeta: metav1.ObjectMeta{
			Name:   "cluster",
			Labels: lbls,
			Annotations: map[string]string{
				"kcp.io/cluster": name, "kcp.io/path": path, "internal.tenancy.kcp.io/type": typ,
			},
		},
		Status: corev1alpha1.LogicalClusterStatus{Phase: phase},
	}
}

func TestFilter(t *testing.T) {
	ready := corev1alpha1.LogicalClusterPhaseReady
	team := lc("abc", "root:org:team", "root:universal", ready, map[string]string{"env": "prod"})
	for _, tc := range []struct {
		name string
		opts Options
		obj  *corev1alpha1.LogicalCluster
		want bool
	}{
		{"no filters", Options{}, team, true},
		{"not ready", Options{}, lc("abc", "root:org:team", "root:universal", corev1alpha1.LogicalClusterPhaseInitializing, nil), false},
		{"system cluster", Options{}, lc("system:admin", "", "", ready, nil), false},
		{"system cluster included", Options{IncludeSystem: true}, lc("system:admin", "", "", ready, nil), true},
		{"type matches", Options{WorkspaceTypes: []string{"root:organization", "root:universal"}}, team, true},
		{"type differs", Options{WorkspaceTypes: []string{"root:organization"}}, team, false},
		{"under prefix", Options{PathPrefix: logicalcluster.NewPath("root:org")}, team, true},
		{"prefix itself", Options{PathPrefix: logicalcluster.NewPath("root:org:team")}, team, true},
		{"name prefix is not a path prefix", Options{PathPrefix: logicalcluster.NewPath("root:or")}, team, false},
		{"label matches", Options{LabelSelector: labels.SelectorFromSet(labels.Set{"env": "prod"})}, team, true},
		{"label differs", Options{LabelSelector: labels.SelectorFromSet(labels.Set{"env": "dev"})}, team, false},
	} {
		if got := Filter(tc.opts)(tc.obj); got != tc.want {
			t.Errorf("%s: Filter = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSplitClusterURL(t *testing.T) {
	for _, tc := range []struct{ host, wantHost, wantWorkspace string }{
		{"https://kcp:6443", "https://kcp:6443", "root"},
		{"https://kcp:6443/clusters/root", "https://kcp:6443", "root"},
		{"https://kcp:6443/clusters/root:org/", "https://kcp:6443", "root:org"},
		{"https://kcp:6443/clusters/*", "https://kcp:6443", "root"},
	} {
		cfg, workspace, err := splitClusterURL(&rest.Config{Host: tc.host})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Host != tc.wantHost || workspace != tc.wantWorkspace {
			t.Errorf("splitClusterURL(%q) = %q, %q; want %q, %q", tc.host, cfg.Host, workspace, tc.wantHost, tc.wantWorkspace)
		}
	}
}
