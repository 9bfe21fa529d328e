package sharded

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bindery-dev/bindery/test/framework"
	"github.com/bindery-dev/bindery/test/servers"
)

// TestWorkspacesOnBothShards: a workspace placed on each shard lives there (only that shard
// serves its LogicalCluster) and is reachable through the front-proxy with the same credentials.
func TestWorkspacesOnBothShards(t *testing.T) {
	t.Parallel()
	for _, shard := range []string{servers.RootShard, "shard-1"} {
		ws := framework.NewWorkspace(t, "placed", framework.OnShard(shard))
		if got := framework.ShardOf(t, ws); got != shard {
			t.Fatalf("workspace %s asked for shard %s but lives on %s", ws.Path, shard, got)
		}
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default"}, Data: map[string]string{"shard": shard}}
		framework.CreateWhenServed(t, ws.Client, cm)
		framework.WaitFor(t, time.Minute, "the ConfigMap through the front-proxy", func(ctx context.Context) (bool, string, error) {
			got := &corev1.ConfigMap{}
			if err := ws.Client.Get(ctx, ctrlclient.ObjectKeyFromObject(cm), got); err != nil {
				return false, "", err
			}
			return got.Data["shard"] == shard, got.Data["shard"], nil
		})
		if proxy := framework.Sharded(t).FrontProxyURL(); !strings.HasPrefix(ws.Config.Host, proxy+"/") {
			t.Fatalf("workspace config %s does not go through the front-proxy %s", ws.Config.Host, proxy)
		}
	}
}
