package syncagent

import (
	"context"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/syncagent"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestUnbindingDeletesThroughTheSync deletes a consumer's APIBinding while one of its objects is
// synced. kcp deletes the objects of the bound resources; the agent deletes their copies and
// releases the objects from its finalizer, and the binding goes: an unbind is a deletion of every
// object, through the sync, not a workspace left behind with objects nobody finalizes.
func TestUnbindingDeletesThroughTheSync(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	kube, providerCluster, provider := newProviderSide(t)
	startAgent(t, provider, syncagent.Options{ProviderConfig: kube.Config(), EndpointSliceName: exportName, AgentName: "unbind"})
	if err := providerCluster.Create(ctx, databasesPR()); err != nil {
		t.Fatal(err)
	}
	waitForCondition(t, providerCluster, "databases", syncagentv1alpha1.ConditionSynced, metav1.ConditionTrue, "SyncRunning", "")
	consumer := framework.NewWorkspace(t, "consumer")
	binding := bindForSync(t, consumer, provider)
	framework.CreateWhenServed(t, consumer.Client, database("orders", "postgres"))
	source := syncengine.Source{Cluster: consumer.Cluster.String(), Namespace: "default", Name: "orders"}
	waitForCopy(t, providerCluster, source, "engine", "postgres")

	if err := consumer.Client.Delete(ctx, binding); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, 2*time.Minute, "the copy and the binding to be gone", func(ctx context.Context) (bool, string, error) {
		bindingErr := consumer.Client.Get(ctx, client.ObjectKeyFromObject(binding), binding.DeepCopy())
		copied := findCopy(ctx, t, providerCluster, source)
		return apierrors.IsNotFound(bindingErr) && copied == nil, fmt.Sprintf("binding: %v; copy left: %v", bindingErr, copied != nil), nil
	})
}
