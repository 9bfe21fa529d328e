package framework

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"

	tenancyv1alpha1 "github.com/kcp-dev/sdk/apis/tenancy/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/bindery-dev/bindery/test/servers"
)

// shardedServer is the sharded kcp shared by all tests of a test binary that called MainSharded.
var shardedServer *servers.ShardedKCP

// MainSharded is Main for suites that need several kcp shards: it starts a sharded kcp (the
// root shard, shard-1, a cache server and a front-proxy; see servers.StartShardedKCP), runs the
// tests and stops it. NewWorkspace then creates workspaces through the front-proxy, on the shard
// OnShard names (any shard without it).
//
//	func TestMain(m *testing.M) { framework.MainSharded(m) }
func MainSharded(m *testing.M) {
	os.Exit(RunSharded(m, servers.ShardedKCPOptions{}))
}

// RunSharded is MainSharded with options; it returns the exit code.
func RunSharded(m *testing.M, opts servers.ShardedKCPOptions) int {
	return runAgainst(m, "a sharded kcp", func() (func(), func() string, error) {
		server, err := servers.StartShardedKCP(context.Background(), opts)
		if err != nil {
			return nil, nil, err
		}
		shardedServer = server
		return server.Stop, func() string { return server.LogTails(40) }, nil
	})
}

// Sharded returns the sharded kcp started by MainSharded.
func Sharded(t testing.TB) *servers.ShardedKCP {
	t.Helper()
	if shardedServer == nil {
		t.Fatal("no sharded kcp is running: the test package's TestMain must call framework.MainSharded(m)")
	}
	return shardedServer
}

// OnShard schedules the workspace onto the named shard (servers.RootShard, "shard-1", ...) through
// its spec.location.selector, which matches the servers.ShardLabel on the Shard objects.
func OnShard(name string) WorkspaceOption {
	return func(o *workspaceOptions) {
		o.location = &tenancyv1alpha1.WorkspaceLocation{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{servers.ShardLabel: name}},
		}
	}
}

// ShardOf returns the name of the shard that holds the workspace's logical cluster: the one whose
// own /clusters/<name> serves its LogicalCluster object (a shard serves only its own).
func ShardOf(t testing.TB, ws *Workspace) string {
	t.Helper()
	for _, shard := range Sharded(t).Shards() {
		cfg := shard.AdminConfig()
		client, err := rest.HTTPClientFor(cfg)
		if err != nil {
			t.Fatalf("client for shard %s: %v", shard.Name, err)
		}
		url := fmt.Sprintf("%s/clusters/%s/apis/core.kcp.io/v1alpha1/logicalclusters/cluster", cfg.Host, ws.Cluster)
		req, err := http.NewRequestWithContext(Context(t), http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("asking shard %s for %s: %v", shard.Name, ws.Path, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return shard.Name
		}
	}
	t.Fatalf("no shard holds the logical cluster %s of workspace %s", ws.Cluster, ws.Path)
	return ""
}

// front is what NewWorkspace needs of a kcp: configs for workspaces, by path.
type front interface {
	ClusterConfig(cluster string) *rest.Config
}

// kcpFront returns the kcp of the test binary: the single kcp of Main, or the front-proxy of
// MainSharded's sharded kcp.
func kcpFront(t testing.TB) front {
	t.Helper()
	if kcpServer == nil && shardedServer != nil {
		return shardedServer
	}
	return KCP(t)
}
