package syncagent

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/syncagent"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/test/framework"
)

// presenceForTests keeps takeovers within seconds; the default is minutes.
const presenceForTests = 5 * time.Second

// TestAgentsOnTheDefaultSelectorDoNotFight runs two agents with different names, both on the
// default selector, against one provider cluster, each with its own export: the first holds the
// PublishedResource, publishes it and syncs its objects; the second leaves it alone and says so
// in the AgentConflict condition, and none of that flaps. Once the first is gone for good, the
// second takes the PublishedResource over.
func TestAgentsOnTheDefaultSelectorDoNotFight(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	kube, providerCluster, first := newProviderSide(t)
	second := framework.NewWorkspace(t, "second")
	stopFirst := runAgent(t, first, syncagent.Options{ProviderConfig: kube.Config(), EndpointSliceName: exportName, AgentName: "first", PresenceLeaseDuration: presenceForTests})
	if err := providerCluster.Create(ctx, databasesPR()); err != nil {
		t.Fatal(err)
	}
	schema := waitForCondition(t, providerCluster, "databases", syncagentv1alpha1.ConditionReady, metav1.ConditionTrue, "Published", "")
	firstAgent := syncagentv1alpha1.AgentReference{Name: "first", Namespace: syncagent.DefaultNamespace}
	if holder := get(t, providerCluster, "databases").Status.Agent; holder == nil || *holder != firstAgent {
		t.Fatalf("status.agent = %v, want %v", holder, firstAgent)
	}

	t.Log("a second agent on the default selector leaves the PublishedResource alone and says so")
	runAgent(t, second, syncagent.Options{ProviderConfig: kube.Config(), EndpointSliceName: exportName, AgentName: "second", PresenceLeaseDuration: presenceForTests})
	waitForCondition(t, providerCluster, "databases", syncagentv1alpha1.ConditionAgentConflict, metav1.ConditionTrue, "SelectorOverlap",
		"agent second in namespace bindery-system also selects this PublishedResource and leaves it to agent first in namespace bindery-system")
	waitForPREvent(t, providerCluster, "databases", "AgentConflict", "agent second")
	consumer := framework.NewWorkspace(t, "consumer")
	bindForSync(t, consumer, first)
	framework.CreateWhenServed(t, consumer.Client, database("orders", "postgres"))
	source := syncengine.Source{Cluster: consumer.Cluster.String(), Namespace: "default", Name: "orders"}
	if copied := waitForCopy(t, providerCluster, source, "engine", "postgres"); copied.GetLabels()[syncengine.AgentLabel] != "first" {
		t.Fatalf("the copy is marked for agent %q", copied.GetLabels()[syncengine.AgentLabel])
	}
	framework.HoldsFor(t, 4*presenceForTests, "the first agent publishing and syncing alone", func(ctx context.Context) (bool, string, error) {
		return heldAlone(ctx, providerCluster, firstAgent, "release.syncagent.bindery.dev/first", "SelectorOverlap", second, first, schema)
	})
	if n := eventCount(t, providerCluster, "databases", "AgentConflict"); n != 1 {
		t.Fatalf("%d AgentConflict events; one is recorded when the second agent stands back, and none after that", n)
	}

	t.Log("once the first agent is gone for good, the second takes over")
	stopFirst()
	framework.WaitFor(t, time.Minute, "the second agent to hold the PublishedResource", func(ctx context.Context) (bool, string, error) {
		pr := get(t, providerCluster, "databases")
		holder := pr.Status.Agent
		return holder != nil && holder.Name == "second" && meta.FindStatusCondition(pr.Status.Conditions, syncagentv1alpha1.ConditionAgentConflict) == nil,
			fmt.Sprintf("agent %v, contenders %v", holder, pr.Status.Contenders), nil
	})
	waitForPREvent(t, providerCluster, "databases", "AgentTakeover", "took the PublishedResource over from agent first")
	secondSchema := waitForCondition(t, providerCluster, "databases", syncagentv1alpha1.ConditionReady, metav1.ConditionTrue, "Published", "")
	waitForExportSchemasIn(t, second, secondSchema)
}

// TestAgentsWithOneNameInTwoNamespacesDoNotFight installs the same agent twice, in two
// namespaces, with leader election on: both lead, each in its own namespace. The younger one (a
// process of its own, as a second installation is) stands back and says so on the
// PublishedResource; the elder publishes into the shared export and syncs, and the younger one
// neither removes the export's entry nor makes copies.
func TestAgentsWithOneNameInTwoNamespacesDoNotFight(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	kube, providerCluster, provider := newProviderSide(t)
	for _, ns := range []string{"team-a", "team-b"} {
		if err := providerCluster.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	runAgent(t, provider, syncagent.Options{ProviderConfig: kube.Config(), EndpointSliceName: exportName, AgentName: "twin",
		Namespace: "team-a", LeaderElection: true, PresenceLeaseDuration: presenceForTests})
	if err := providerCluster.Create(ctx, databasesPR()); err != nil {
		t.Fatal(err)
	}
	schema := waitForCondition(t, providerCluster, "databases", syncagentv1alpha1.ConditionReady, metav1.ConditionTrue, "Published", "")

	t.Log("the same agent in another namespace leads there too, stands back and says so")
	framework.StartProcess(t, "twin-team-b", framework.Binary(t, "./cmd/bindery-syncagent"), append(agentProcessArgs(t, provider, kube, "twin"),
		"--namespace", "team-b", "--leader-elect=true", "--presence-lease-duration", presenceForTests.String())...)
	for _, ns := range []string{"team-a", "team-b"} {
		waitForLeader(t, providerCluster, ns, "bindery-syncagent-twin")
	}
	waitForCondition(t, providerCluster, "databases", syncagentv1alpha1.ConditionAgentConflict, metav1.ConditionTrue, "DuplicateAgentName",
		"agent twin in namespace team-b has the name of agent twin in namespace team-a")
	consumer := framework.NewWorkspace(t, "consumer")
	bindForSync(t, consumer, provider)
	framework.CreateWhenServed(t, consumer.Client, database("orders", "postgres"))
	waitForCopy(t, providerCluster, syncengine.Source{Cluster: consumer.Cluster.String(), Namespace: "default", Name: "orders"}, "engine", "postgres")
	elder := syncagentv1alpha1.AgentReference{Name: "twin", Namespace: "team-a"}
	framework.HoldsFor(t, 4*presenceForTests, "the elder agent publishing and syncing alone", func(ctx context.Context) (bool, string, error) {
		return heldAlone(ctx, providerCluster, elder, "release.syncagent.bindery.dev/twin", "DuplicateAgentName", provider, provider, schema)
	})
	if n := countCopies(ctx, t, providerCluster); n != 1 {
		t.Fatalf("%d copies of one consumer object", n)
	}
}

// heldAlone checks the state two agents must keep: the holder holds the PublishedResource, which
// is Ready and carries only the holder's finalizer, the conflict stands with the reason, the
// holder's export serves the schema and the other's serves nothing (the two may be the same).
func heldAlone(ctx context.Context, c client.Client, holder syncagentv1alpha1.AgentReference, finalizer, reason string, other, own *framework.Workspace, schema string) (bool, string, error) {
	pr := &syncagentv1alpha1.PublishedResource{}
	if err := c.Get(ctx, client.ObjectKey{Name: "databases"}, pr); err != nil {
		return false, "", err
	}
	conflict := meta.FindStatusCondition(pr.Status.Conditions, syncagentv1alpha1.ConditionAgentConflict)
	switch {
	case pr.Status.Agent == nil || *pr.Status.Agent != holder:
		return false, fmt.Sprintf("status.agent is %v", pr.Status.Agent), nil
	case !meta.IsStatusConditionTrue(pr.Status.Conditions, syncagentv1alpha1.ConditionReady):
		return false, fmt.Sprintf("not Ready: %+v", pr.Status.Conditions), nil
	case conflict == nil || conflict.Reason != reason:
		return false, fmt.Sprintf("AgentConflict is %+v", conflict), nil
	case !slices.Equal(pr.Finalizers, []string{finalizer}):
		return false, fmt.Sprintf("finalizers %v", pr.Finalizers), nil
	}
	ownSchemas, err := exportSchemas(ctx, own)
	if err != nil || !slices.Equal(ownSchemas, []string{schema}) {
		return false, fmt.Sprintf("the holder's export serves %v", ownSchemas), err
	}
	if other == own {
		return true, "", nil
	}
	otherSchemas, err := exportSchemas(ctx, other)
	return err == nil && len(otherSchemas) == 0, fmt.Sprintf("the other agent's export serves %v", otherSchemas), err
}

// exportSchemas lists the schemas the workspace's APIExport serves (none if there is no export).
func exportSchemas(ctx context.Context, ws *framework.Workspace) ([]string, error) {
	export := &apisv1alpha2.APIExport{}
	if err := ws.Client.Get(ctx, client.ObjectKey{Name: exportName}, export); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	var schemas []string
	for _, r := range export.Spec.Resources {
		schemas = append(schemas, r.Schema)
	}
	return schemas, nil
}

// waitForExportSchemasIn waits until the workspace's APIExport serves exactly the schemas.
func waitForExportSchemasIn(t *testing.T, ws *framework.Workspace, schemas ...string) {
	t.Helper()
	framework.WaitFor(t, time.Minute, fmt.Sprintf("APIExport %s to serve %v", exportName, schemas), func(ctx context.Context) (bool, string, error) {
		got, err := exportSchemas(ctx, ws)
		return slices.Equal(got, schemas), fmt.Sprintf("%v", got), err
	})
}

// waitForLeader waits until the leader-election Lease in the namespace has a holder.
func waitForLeader(t *testing.T, c client.Client, namespace, name string) {
	t.Helper()
	framework.WaitFor(t, time.Minute, "a leader in "+namespace, func(ctx context.Context) (bool, string, error) {
		lease := &coordinationv1.Lease{}
		err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, lease)
		if apierrors.IsNotFound(err) {
			return false, "no Lease", nil
		}
		return err == nil && lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity != "", "no holder", err
	})
}

// eventCount adds up the counts of the PublishedResource's events with the reason.
func eventCount(t *testing.T, c client.Client, name, reason string) int32 {
	t.Helper()
	events := &corev1.EventList{}
	if err := c.List(framework.Context(t), events, client.InNamespace("default")); err != nil {
		t.Fatal(err)
	}
	var n int32
	for _, e := range events.Items {
		if e.InvolvedObject.Kind != "PublishedResource" || e.InvolvedObject.Name != name || e.Reason != reason {
			continue
		}
		count := max(e.Count, 1)
		if e.Series != nil {
			count = max(count, e.Series.Count)
		}
		n += count
	}
	return n
}
