package syncagent

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/syncagent"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestStoppingTheSyncReleasesConsumerObjects: a restart of the agent keeps every finalizer; then
// disabling the sync releases the consumer objects from the agent's finalizer (one of them in
// the middle of its deletion, held by the provider's operator) and leaves every copy in the
// provider cluster; enabling it again syncs again, and deleting the PublishedResource releases
// the objects once more before the PublishedResource goes.
func TestStoppingTheSyncReleasesConsumerObjects(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	kube, providerCluster, provider := newProviderSide(t)
	// The agent runs as a process, so that it can be restarted the way it is in production.
	agent := framework.Binary(t, "./cmd/bindery-syncagent")
	args := agentProcessArgs(t, provider, kube, "stop")
	first := framework.StartProcess(t, "agent", agent, args...)
	if err := providerCluster.Create(ctx, databasesPR()); err != nil {
		t.Fatal(err)
	}
	waitForCondition(t, providerCluster, "databases", syncagentv1alpha1.ConditionSynced, metav1.ConditionTrue, "SyncRunning", "")
	waitForPRFinalizer(t, providerCluster, "databases", true)

	consumer := framework.NewWorkspace(t, "consumer")
	framework.Bind(t, consumer, provider.Path, exportName,
		framework.Claim("", "events", "create", "patch", "update"),
		framework.Claim("", "namespaces", "create", "get", "list", "watch"))
	sources := map[string]syncengine.Source{}
	for _, name := range []string{"orders", "held"} {
		framework.CreateWhenServed(t, consumer.Client, database(name, "postgres"))
		sources[name] = syncengine.Source{Cluster: consumer.Cluster.String(), Namespace: "default", Name: name}
		waitForCopy(t, providerCluster, sources[name], "engine", "postgres")
		waitForSyncFinalizer(t, consumer.Client, name, true)
	}

	t.Log("a restart of the agent is not a stop: every finalizer stays")
	first.Kill()
	framework.StartProcess(t, "agent-restarted", agent, args...)
	framework.CreateWhenServed(t, consumer.Client, database("after-restart", "postgres"))
	waitForCopy(t, providerCluster, syncengine.Source{Cluster: consumer.Cluster.String(), Namespace: "default", Name: "after-restart"}, "engine", "postgres")
	for _, name := range []string{"orders", "held"} {
		waitForSyncFinalizer(t, consumer.Client, name, true)
	}
	waitForPRFinalizer(t, providerCluster, "databases", true)

	t.Log("the provider's operator holds one copy while the consumer deletes its object")
	held := findCopy(ctx, t, providerCluster, sources["held"])
	held.SetFinalizers(append(held.GetFinalizers(), "example.com/teardown"))
	if err := providerCluster.Update(ctx, held); err != nil {
		t.Fatal(err)
	}
	if err := consumer.Client.Delete(ctx, database("held", "")); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, time.Minute, "the held copy to be in deletion", func(ctx context.Context) (bool, string, error) {
		c := findCopy(ctx, t, providerCluster, sources["held"])
		return c != nil && c.GetDeletionTimestamp() != nil, "not in deletion", nil
	})

	t.Log("disabling the sync releases every consumer object and keeps every copy")
	setSyncEnabled(t, providerCluster, "databases", false)
	waitForPRFinalizer(t, providerCluster, "databases", false)
	for _, name := range []string{"orders", "after-restart"} {
		waitForSyncFinalizer(t, consumer.Client, name, false)
	}
	framework.WaitFor(t, time.Minute, "the consumer's held object to be gone", func(ctx context.Context) (bool, string, error) {
		err := consumer.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "held"}, database("held", ""))
		return apierrors.IsNotFound(err), fmt.Sprintf("get: %v", err), nil
	})
	waitForPREvent(t, providerCluster, "databases", syncagent.EventSyncStopped, "released 3 consumer objects")
	for name, source := range sources {
		if findCopy(ctx, t, providerCluster, source) == nil {
			t.Fatalf("the copy of %s is gone; the provider's copies must stay", name)
		}
	}

	t.Log("a consumer object deleted now goes at once; its copy stays")
	if err := consumer.Client.Delete(ctx, database("orders", "")); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, time.Minute, "the consumer's orders to be gone", func(ctx context.Context) (bool, string, error) {
		err := consumer.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "orders"}, database("orders", ""))
		return apierrors.IsNotFound(err), fmt.Sprintf("get: %v", err), nil
	})
	if findCopy(ctx, t, providerCluster, sources["orders"]) == nil {
		t.Fatal("the copy of orders is gone")
	}

	t.Log("enabling the sync again syncs again")
	setSyncEnabled(t, providerCluster, "databases", true)
	waitForCondition(t, providerCluster, "databases", syncagentv1alpha1.ConditionSynced, metav1.ConditionTrue, "SyncRunning", "")
	waitForPRFinalizer(t, providerCluster, "databases", true)
	waitForSyncFinalizer(t, consumer.Client, "after-restart", true)

	t.Log("deleting the PublishedResource releases the consumer objects before it goes")
	if err := providerCluster.Delete(ctx, &syncagentv1alpha1.PublishedResource{ObjectMeta: metav1.ObjectMeta{Name: "databases"}}); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, time.Minute, "the PublishedResource to be gone", func(ctx context.Context) (bool, string, error) {
		err := providerCluster.Get(ctx, client.ObjectKey{Name: "databases"}, &syncagentv1alpha1.PublishedResource{})
		return apierrors.IsNotFound(err), fmt.Sprintf("get: %v", err), nil
	})
	waitForSyncFinalizer(t, consumer.Client, "after-restart", false)
	if findCopy(ctx, t, providerCluster, syncengine.Source{Cluster: consumer.Cluster.String(), Namespace: "default", Name: "after-restart"}) == nil {
		t.Fatal("the copy of after-restart is gone")
	}
}

// waitForSyncFinalizer waits until the consumer's Database carries the sync finalizer, or not.
func waitForSyncFinalizer(t *testing.T, c client.Client, name string, want bool) {
	t.Helper()
	framework.WaitFor(t, time.Minute, fmt.Sprintf("Database %s with finalizer %s: %v", name, syncengine.Finalizer, want), func(ctx context.Context) (bool, string, error) {
		obj := database(name, "")
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, obj); err != nil {
			return false, "", err
		}
		return slices.Contains(obj.GetFinalizers(), syncengine.Finalizer) == want, fmt.Sprintf("finalizers %v", obj.GetFinalizers()), nil
	})
}

// waitForPRFinalizer waits until the PublishedResource carries the agent's finalizer, or not.
func waitForPRFinalizer(t *testing.T, c client.Client, name string, want bool) {
	t.Helper()
	framework.WaitFor(t, time.Minute, fmt.Sprintf("PublishedResource %s with the agent's finalizer: %v", name, want), func(ctx context.Context) (bool, string, error) {
		pr := &syncagentv1alpha1.PublishedResource{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, pr); err != nil {
			return false, "", err
		}
		has := slices.ContainsFunc(pr.Finalizers, func(f string) bool { return strings.HasPrefix(f, syncagent.FinalizerPrefix) })
		return has == want, fmt.Sprintf("finalizers %v", pr.Finalizers), nil
	})
}

func setSyncEnabled(t *testing.T, c client.Client, name string, enabled bool) {
	t.Helper()
	pr := get(t, c, name)
	pr.Spec.Synchronization = &syncagentv1alpha1.Synchronization{Enabled: &enabled}
	if err := c.Update(framework.Context(t), pr); err != nil {
		t.Fatal(err)
	}
}

// waitForPREvent waits for an event on a PublishedResource (namespace default, where events of
// cluster-scoped objects land) with the reason and a message containing the text.
func waitForPREvent(t *testing.T, c client.Client, name, reason, inMessage string) {
	t.Helper()
	framework.WaitFor(t, time.Minute, fmt.Sprintf("a %s event on PublishedResource %s mentioning %q", reason, name, inMessage), func(ctx context.Context) (bool, string, error) {
		events := &corev1.EventList{}
		if err := c.List(ctx, events, client.InNamespace("default")); err != nil {
			return false, "", err
		}
		var seen []string
		for _, e := range events.Items {
			if e.InvolvedObject.Kind != "PublishedResource" || e.InvolvedObject.Name != name {
				continue
			}
			if e.Reason == reason && strings.Contains(e.Message, inMessage) {
				return true, "", nil
			}
			seen = append(seen, e.Reason+": "+e.Message)
		}
		return false, strings.Join(seen, "; "), nil
	})
}
