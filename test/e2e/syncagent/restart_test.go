package syncagent

import (
	"context"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestKillAndRestart runs the agent as a process, kills it with SIGKILL in the middle of a batch,
// changes things while it is down and starts it again: every consumer object ends up with exactly
// one copy, objects deleted meanwhile lose their copies, and nothing else is left.
func TestKillAndRestart(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	kube, providerCluster, provider := newProviderSide(t)
	agent := framework.Binary(t, "./cmd/bindery-syncagent")
	args := agentProcessArgs(t, provider, kube, "restart")
	first := framework.StartProcess(t, "agent", agent, args...)
	if err := providerCluster.Create(ctx, databasesPR()); err != nil {
		t.Fatal(err)
	}
	waitForCondition(t, providerCluster, "databases", syncagentv1alpha1.ConditionSynced, metav1.ConditionTrue, "SyncRunning", "")
	consumers := []*framework.Workspace{framework.NewWorkspace(t, "consumer"), framework.NewWorkspace(t, "consumer")}
	for _, c := range consumers {
		framework.Bind(t, c, provider.Path, exportName,
			framework.Claim("", "events", "create", "patch", "update"),
			framework.Claim("", "namespaces", "create", "get", "list", "watch"))
		framework.CreateWhenServed(t, c.Client, database("warm-up", "postgres"))
		waitForCopy(t, providerCluster, syncengine.Source{Cluster: c.Cluster.String(), Namespace: "default", Name: "warm-up"}, "engine", "postgres")
	}

	t.Log("a batch of 40 objects; the agent is killed once some copies exist")
	live := map[syncengine.Source]bool{}
	for i := range 40 {
		c := consumers[i%2]
		name := fmt.Sprintf("db-%02d", i)
		if err := c.Client.Create(ctx, database(name, "postgres")); err != nil {
			t.Fatalf("creating %s: %v", name, err)
		}
		live[syncengine.Source{Cluster: c.Cluster.String(), Namespace: "default", Name: name}] = true
		if i == 20 {
			framework.WaitFor(t, time.Minute, "some copies of the batch", func(ctx context.Context) (bool, string, error) {
				n := countCopies(ctx, t, providerCluster)
				return n > 4, fmt.Sprintf("%d copies", n), nil
			})
			first.Kill()
		}
	}

	t.Log("while the agent is down: more objects, and deletions of objects that have copies")
	for i := 40; i < 50; i++ {
		c := consumers[i%2]
		name := fmt.Sprintf("db-%02d", i)
		if err := c.Client.Create(ctx, database(name, "postgres")); err != nil {
			t.Fatal(err)
		}
		live[syncengine.Source{Cluster: c.Cluster.String(), Namespace: "default", Name: name}] = true
	}
	deleted := []syncengine.Source{}
	for _, c := range consumers {
		if err := c.Client.Delete(ctx, database("warm-up", "")); err != nil {
			t.Fatal(err)
		}
		deleted = append(deleted, syncengine.Source{Cluster: c.Cluster.String(), Namespace: "default", Name: "warm-up"})
	}

	framework.StartProcess(t, "agent-restarted", agent, args...)
	framework.WaitFor(t, 2*time.Minute, "exactly one copy per live object and none for deleted ones", func(ctx context.Context) (bool, string, error) {
		copies, err := copiesBySource(ctx, providerCluster)
		if err != nil {
			return false, "", err
		}
		for source := range live {
			if copies[source.Hash()] != 1 {
				return false, fmt.Sprintf("%d copies; %s has %d", len(copies), source, copies[source.Hash()]), nil
			}
		}
		for _, source := range deleted {
			if copies[source.Hash()] != 0 {
				return false, fmt.Sprintf("%s still has a copy", source), nil
			}
		}
		return len(copies) == len(live), fmt.Sprintf("copies of %d sources for %d live objects", len(copies), len(live)), nil
	})
	for _, c := range consumers {
		framework.WaitFor(t, time.Minute, "the deleted object in "+c.Path.String()+" to be released", func(ctx context.Context) (bool, string, error) {
			err := c.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "warm-up"}, database("warm-up", ""))
			return apierrors.IsNotFound(err), fmt.Sprintf("get: %v", err), nil
		})
	}
}

// countCopies counts the provider-side copies made by any agent.
func countCopies(ctx context.Context, t *testing.T, c client.Client) int {
	t.Helper()
	copies, err := copiesBySource(ctx, c)
	if err != nil {
		t.Logf("listing copies: %v", err)
		return -1
	}
	n := 0
	for _, count := range copies {
		n += count
	}
	return n
}

// copiesBySource counts the provider-side copies per source hash, in one list.
func copiesBySource(ctx context.Context, c client.Client) (map[string]int, error) {
	list := &unstructured.UnstructuredList{}
	list.SetAPIVersion(internalGroup + "/v1beta1")
	list.SetKind("PostgresClusterList")
	if err := c.List(ctx, list, client.HasLabels{syncengine.AgentLabel}); err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, item := range list.Items {
		counts[item.GetLabels()[syncengine.SourceLabel]]++
	}
	return counts, nil
}
