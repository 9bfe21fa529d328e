package workspaces

import (
	"slices"
	"strings"
	"testing"

	corev1alpha1 "github.com/kcp-dev/sdk/apis/core/v1alpha1"
)

func TestShardURLsRewrittenDeduplicatedSorted(t *testing.T) {
	shard := func(url string) *corev1alpha1.Shard {
		return &corev1alpha1.Shard{Spec: corev1alpha1.ShardSpec{BaseURL: url}}
	}
	rewrite := func(url string) string {
		return strings.Replace(url, "https://shard-1.kcp.svc:6443", "https://127.0.0.1:7443", 1)
	}
	got := ShardURLs([]*corev1alpha1.Shard{shard("https://shard-1.kcp.svc:6443/"), shard("https://root.kcp.svc:6443"), shard("https://root.kcp.svc:6443/")}, rewrite)
	want := []string{"https://127.0.0.1:7443", "https://root.kcp.svc:6443"}
	if !slices.Equal(got, want) {
		t.Fatalf("ShardURLs = %v, want %v", got, want)
	}
}
