package workspacebackend

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bindery-dev/bindery/test/framework"
)

// TestTeamClusterToWorkspaceToProvider is the chain end to end: a Database alice creates in her
// team's cluster reaches the team workspace through the konnector and the provider cluster
// through the syncagent; the operator's status and credentials Secret come back over both hops;
// along the way each party sees its neighbour and no further (checkIdentities: the provider's
// inventory from bindery-manager names the team workspace, the workspace's Consumer names alice's
// cluster); an update goes down both hops; deleting it deletes it everywhere.
func TestTeamClusterToWorkspaceToProvider(t *testing.T) {
	c := newChain(t)
	catalogPath := startCatalog(t, c)
	team := c.bindCluster(t, alice)
	ctx := framework.Context(t)
	createNamespace(t, team.client, "shop")
	orders := framework.Database(team.kind, "shop", "orders")
	_ = unstructured.SetNestedField(orders.Object, int64(5), "spec", "storageGB")
	framework.CreateWhenServed(t, team.client, orders)

	t.Log("the Database reaches the workspace, then the provider cluster")
	framework.WaitFor(t, time.Minute, "the Database in alice's Consumer namespace of the workspace", func(ctx context.Context) (bool, string, error) {
		items, err := list(ctx, c.team.Client, c.kind, team.namespace)
		return err == nil && len(items) == 1, fmt.Sprintf("%d objects", len(items)), err
	})
	framework.WaitFor(t, time.Minute, "one copy in the provider cluster", func(ctx context.Context) (bool, string, error) {
		copies, err := c.providerCopies(ctx)
		return err == nil && len(copies) == 1, fmt.Sprintf("copies: %v", copies), err
	})

	t.Log("the operator's status and credentials come back over both hops")
	waitReadyWithSecret(t, team, "orders")
	if err := team.client.Get(ctx, client.ObjectKeyFromObject(orders), orders); err != nil {
		t.Fatal(err)
	}
	secretName, _, _ := unstructured.NestedString(orders.Object, "status", "credentialsSecretRef", "name")
	var middle corev1.Secret
	if err := c.team.Client.Get(ctx, client.ObjectKey{Namespace: team.namespace, Name: secretName}, &middle); err != nil {
		t.Fatalf("the credentials Secret in the workspace, between the hops: %v", err)
	}
	var atHome corev1.Secret
	if err := team.client.Get(ctx, client.ObjectKey{Namespace: "shop", Name: secretName}, &atHome); err != nil {
		t.Fatal(err)
	}
	if len(atHome.Data["password"]) == 0 || string(atHome.Data["password"]) != string(middle.Data["password"]) {
		t.Errorf("the password in alice's cluster (%d bytes) is not the one in the workspace", len(atHome.Data["password"]))
	}

	checkIdentities(t, c, team, catalogPath, orders)

	t.Log("an update goes down both hops")
	if err := team.client.Get(ctx, client.ObjectKeyFromObject(orders), orders); err != nil {
		t.Fatal(err)
	}
	_ = unstructured.SetNestedField(orders.Object, int64(20), "spec", "storageGB")
	if err := team.client.Update(ctx, orders); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, time.Minute, "storageGB 20 in the provider cluster", func(ctx context.Context) (bool, string, error) {
		items, err := list(ctx, c.provider, providerKind, "")
		if err != nil || len(items) != 1 {
			return false, fmt.Sprintf("%d copies", len(items)), err
		}
		size, _, _ := unstructured.NestedInt64(items[0].Object, "spec", "storageGB")
		return size == 20, fmt.Sprintf("storageGB %d", size), nil
	})

	t.Log("deleting it in alice's cluster deletes it in the workspace and the provider cluster")
	if err := team.client.Delete(ctx, orders); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, 2*time.Minute, "the Database gone from all three", func(ctx context.Context) (bool, string, error) {
		original := team.client.Get(ctx, client.ObjectKeyFromObject(orders), framework.Database(team.kind, "", ""))
		inWS, err := list(ctx, c.team.Client, c.kind, team.namespace)
		if err != nil {
			return false, "", err
		}
		copies, err := c.providerCopies(ctx)
		if err != nil {
			return false, "", err
		}
		return client.IgnoreNotFound(original) == nil && original != nil && len(inWS) == 0 && len(copies) == 0,
			fmt.Sprintf("alice's: %s; workspace: %d; provider: %d", errString(original), len(inWS), len(copies)), nil
	})
}
