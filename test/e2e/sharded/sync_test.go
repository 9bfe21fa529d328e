package sharded

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	catalogv1alpha1 "github.com/bindery-dev/bindery/apis/catalog/v1alpha1"
	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/catalog"
	"github.com/bindery-dev/bindery/pkg/manager"
	"github.com/bindery-dev/bindery/pkg/syncagent"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/test/framework"
	"github.com/bindery-dev/bindery/test/servers"
)

const exportName = "databases"

var (
	consumerKind = schema.GroupVersionKind{Group: "db.example.com", Version: "v1alpha1", Kind: "Database"}
	providerKind = schema.GroupVersionKind{Group: "db.provider.example", Version: "v1alpha1", Kind: "Database"}
)

// TestSyncAcrossShards: consumers on the root shard and on shard-1 bind one export; the
// syncagent (reaching shard-1's virtual workspace through another address, with
// --endpoint-url-rewrite's rule) syncs both, status back, and the manager (--all-shards) counts
// both in the catalog. Then shard-1 is paused with SIGSTOP for 30 s: the root shard's consumer
// keeps syncing, the PublishedResource's ConsumersReachable and the manager's /readyz name the
// unreachable shard; after SIGCONT both converge.
func TestSyncAcrossShards(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	kcp := framework.Sharded(t)
	shard1 := kcp.Shard("shard-1")

	kube := framework.StartKube(t, "deploy/crd", "examples/database-operator/config/crd.yaml")
	providerCluster := framework.NewClient(t, kube.Config())
	provider := framework.NewWorkspace(t, "provider", framework.OnShard(servers.RootShard))

	// The agent reaches shard-1 only through a forwarder: the URL shard-1 registered is rewritten.
	forwarder := forward(t, strings.TrimPrefix(shard1.URL, "https://"))
	agentOpts := syncagent.Options{
		KCPConfig: provider.Config, ProviderConfig: kube.Config(), EndpointSliceName: exportName, AgentName: "sharded",
		MetricsBindAddress: "0", HealthProbeBindAddress: "0", EndpointHealthInterval: 2 * time.Second,
		RewriteEndpointURL: func(url string) string {
			return strings.Replace(url, shard1.URL, "https://"+forwarder.addr, 1)
		},
		Log: framework.Logger(t).WithName("agent"),
	}
	run(t, "agent", func(ctx context.Context) error { return syncagent.Run(ctx, agentOpts) })
	if err := providerCluster.Create(ctx, publishedResource()); err != nil {
		t.Fatal(err)
	}
	waitForCondition(t, providerCluster, syncagentv1alpha1.ConditionReady, metav1.ConditionTrue, "", "")

	onRoot := framework.NewWorkspace(t, "consumer", framework.OnShard(servers.RootShard))
	onShard1 := framework.NewWorkspace(t, "consumer", framework.OnShard("shard-1"))
	for _, consumer := range []*framework.Workspace{onRoot, onShard1} {
		framework.Bind(t, consumer, provider.Path, exportName,
			framework.Claim("", "events", "create", "patch", "update"),
			framework.Claim("", "namespaces", "create", "get", "list", "watch"))
		framework.CreateWhenServed(t, consumer.Client, framework.Database(consumerKind, "default", "before"))
	}
	t.Log("both shards' consumers sync, status back")
	for _, consumer := range []*framework.Workspace{onRoot, onShard1} {
		syncAndAnswer(t, providerCluster, consumer, "before")
	}
	waitForCondition(t, providerCluster, syncagentv1alpha1.ConditionConsumersReachable, metav1.ConditionTrue, "AllShardsAnswer", "all 2 shards")
	if forwarder.connections.Load() == 0 {
		t.Fatal("shard-1's consumer synced without a connection through the rewritten address")
	}

	t.Log("the manager, watching all shards, counts both consumers")
	// The catalog lives on the root shard, so that it can be read while shard-1 is paused (the
	// manager would create it wherever kcp schedules it).
	catalogPath := framework.NewWorkspace(t, "catalog", framework.OnShard(servers.RootShard)).Path
	health := freeAddress(t)
	managerOpts := manager.Options{
		Config: kcp.AdminConfig(), FleetConfig: kcp.Shard(servers.RootShard).AdminConfig(), CatalogWorkspace: catalogPath,
		AllShards: true, ShardHealthInterval: 2 * time.Second,
		MetricsBindAddress: "0", HealthProbeBindAddress: health, SkipControllerNameValidation: true,
		Log: framework.Logger(t).WithName("manager"),
	}
	run(t, "manager", func(ctx context.Context) error { return manager.Run(ctx, managerOpts) })
	framework.ListExport(t, provider, exportName, "Databases on two shards")
	catalogClient := framework.NewClient(t, kcp.ClusterConfig(catalogPath.String()))
	entry := catalog.EntryName(provider.Cluster.String(), exportName)
	waitForEntry(t, catalogClient, entry, 2)
	waitForReadyz(t, health, http.StatusOK, "")

	t.Log("shard-1 paused for 30 s: the root shard keeps syncing, the unreachable shard is reported")
	paused := time.Now()
	if err := shard1.Pause(); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			if err := shard1.Resume(); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(resume)
	framework.CreateWhenServed(t, onRoot.Client, framework.Database(consumerKind, "default", "during"))
	syncAndAnswer(t, providerCluster, onRoot, "during")
	waitForCondition(t, providerCluster, syncagentv1alpha1.ConditionConsumersReachable, metav1.ConditionFalse, "ShardUnreachable", forwarder.addr)
	waitForReadyz(t, health, http.StatusInternalServerError, "[-]shards failed")
	framework.HoldsFor(t, 30*time.Second-time.Since(paused), "the root shard's consumers to stay synced and counted while shard-1 is paused",
		func(ctx context.Context) (bool, string, error) {
			phase, err := phaseOf(ctx, onRoot.Client, "during")
			return phase == "Ready", "status.phase=" + phase, err
		})
	if got := consumersOf(t, catalogClient, entry); got != 2 {
		t.Fatalf("the catalog counts %d consumers while shard-1 is paused, want 2 (as last seen)", got)
	}

	t.Log("shard-1 continues: both converge")
	resume()
	waitForCondition(t, providerCluster, syncagentv1alpha1.ConditionConsumersReachable, metav1.ConditionTrue, "AllShardsAnswer", "all 2 shards")
	waitForReadyz(t, health, http.StatusOK, "")
	framework.CreateWhenServed(t, onShard1.Client, framework.Database(consumerKind, "default", "after"))
	syncAndAnswer(t, providerCluster, onShard1, "after")
	syncAndAnswer(t, providerCluster, onRoot, "during")
	waitForEntry(t, catalogClient, entry, 2)
}

// publishedResource publishes the example operator's Database as db.example.com.
func publishedResource() *syncagentv1alpha1.PublishedResource {
	return &syncagentv1alpha1.PublishedResource{
		ObjectMeta: metav1.ObjectMeta{Name: exportName},
		Spec: syncagentv1alpha1.PublishedResourceSpec{
			Resource:   syncagentv1alpha1.SourceResource{APIGroup: providerKind.Group, Kind: providerKind.Kind, Versions: []string{providerKind.Version}},
			Projection: &syncagentv1alpha1.Projection{Group: consumerKind.Group},
		},
	}
}

// syncAndAnswer waits for the copy of the consumer's Database in the provider cluster, writes
// its status as the operator would, and waits for the status in the consumer's workspace.
func syncAndAnswer(t *testing.T, provider client.Client, consumer *framework.Workspace, name string) {
	t.Helper()
	source := syncengine.Source{Cluster: consumer.Cluster.String(), Namespace: "default", Name: name}
	framework.WaitFor(t, time.Minute, fmt.Sprintf("the copy of %s answered with status.phase=Ready", source), func(ctx context.Context) (bool, string, error) {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(providerKind.GroupVersion().WithKind("DatabaseList"))
		if err := provider.List(ctx, list, client.MatchingLabels{syncengine.SourceLabel: source.Hash()}); err != nil {
			return false, "", err
		}
		if len(list.Items) != 1 {
			return false, fmt.Sprintf("%d copies", len(list.Items)), nil
		}
		copied := &list.Items[0]
		if phase, _, _ := unstructured.NestedString(copied.Object, "status", "phase"); phase == "Ready" {
			return true, "", nil
		}
		_ = unstructured.SetNestedField(copied.Object, "Ready", "status", "phase")
		return false, "status written", provider.Status().Update(ctx, copied)
	})
	framework.WaitFor(t, time.Minute, fmt.Sprintf("status.phase=Ready back on %s in %s", name, consumer.Path), func(ctx context.Context) (bool, string, error) {
		phase, err := phaseOf(ctx, consumer.Client, name)
		return phase == "Ready", "status.phase=" + phase, err
	})
}

func phaseOf(ctx context.Context, c client.Client, name string) (string, error) {
	db := framework.Database(consumerKind, "default", name)
	if err := c.Get(ctx, client.ObjectKeyFromObject(db), db); err != nil {
		return "", err
	}
	phase, _, _ := unstructured.NestedString(db.Object, "status", "phase")
	return phase, nil
}

// waitForCondition waits until the PublishedResource has the condition with the status, the
// reason (if given) and a message containing text.
func waitForCondition(t *testing.T, c client.Client, conditionType string, status metav1.ConditionStatus, reason, text string) {
	t.Helper()
	framework.WaitFor(t, 2*time.Minute, fmt.Sprintf("PublishedResource %s: %s=%s %s", exportName, conditionType, status, reason), func(ctx context.Context) (bool, string, error) {
		pr := &syncagentv1alpha1.PublishedResource{}
		if err := c.Get(ctx, client.ObjectKey{Name: exportName}, pr); err != nil {
			return false, "", err
		}
		cond := meta.FindStatusCondition(pr.Status.Conditions, conditionType)
		if cond == nil {
			return false, "no condition", nil
		}
		return cond.Status == status && (reason == "" || cond.Reason == reason) && strings.Contains(cond.Message, text),
			fmt.Sprintf("%s %s: %s", cond.Status, cond.Reason, cond.Message), nil
	})
}

func consumersOf(t *testing.T, c client.Client, name string) int32 {
	t.Helper()
	// Bounded: a request to a paused shard is never answered.
	ctx, cancel := context.WithTimeout(framework.Context(t), 30*time.Second)
	defer cancel()
	entry := &catalogv1alpha1.CatalogEntry{}
	if err := c.Get(ctx, client.ObjectKey{Name: name}, entry); err != nil {
		t.Fatal(err)
	}
	return entry.Status.Consumers
}

func waitForEntry(t *testing.T, c client.Client, name string, consumers int32) {
	t.Helper()
	framework.WaitFor(t, 2*time.Minute, fmt.Sprintf("catalog entry %s with %d consumers", name, consumers), func(ctx context.Context) (bool, string, error) {
		entry := &catalogv1alpha1.CatalogEntry{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, entry); err != nil {
			return false, "", err
		}
		return entry.Status.Consumers == consumers, fmt.Sprintf("%d consumers", entry.Status.Consumers), nil
	})
}

// waitForReadyz waits until the manager's /readyz?verbose answers with the code and text.
func waitForReadyz(t *testing.T, addr string, code int, text string) {
	t.Helper()
	framework.WaitFor(t, 2*time.Minute, fmt.Sprintf("the manager's /readyz to answer %d %q", code, text), func(ctx context.Context) (bool, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/readyz?verbose", nil)
		if err != nil {
			return false, "", err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == code && strings.Contains(string(body), text), fmt.Sprintf("%d %s", resp.StatusCode, body), nil
	})
}

// run runs a bindery process's Run function in the test process until the test ends.
func run(t *testing.T, name string, fn func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s stopped with error: %v", name, err)
		}
	})
}

func freeAddress(t *testing.T) string {
	t.Helper()
	port, err := servers.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// forwarder passes TCP connections on to a target: another address for the same server, as a
// load balancer or tunnel in front of a shard would be. TLS goes through untouched.
type forwarder struct {
	addr        string
	connections atomic.Int64
}

func forward(t *testing.T, target string) *forwarder {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &forwarder{addr: l.Addr().String()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range open {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				_ = in.Close()
				continue
			}
			f.connections.Add(1)
			mu.Lock()
			open = append(open, in, out)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(out, in); _ = out.Close() })
			wg.Go(func() { _, _ = io.Copy(in, out); _ = in.Close() })
		}
	})
	return f
}
