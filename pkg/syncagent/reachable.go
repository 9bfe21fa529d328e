package syncagent

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/providers/apiexport"
)

// Reasons of the ConsumersReachable condition.
const (
	ReasonAllShardsAnswer  = "AllShardsAnswer"
	ReasonNoShards         = "NoShards"
	ReasonShardUnreachable = "ShardUnreachable"
	ReasonShardFailing     = "ShardFailing"
)

// reachableCondition summarises the health of the export's endpoints (one virtual workspace URL
// per shard that has consumers) for the ConsumersReachable condition.
func reachableCondition(endpoints []apiexport.EndpointHealth, generation int64) metav1.Condition {
	cond := metav1.Condition{Type: syncagentv1alpha1.ConditionConsumersReachable, ObservedGeneration: generation}
	if len(endpoints) == 0 {
		cond.Status, cond.Reason = metav1.ConditionTrue, ReasonNoShards
		cond.Message = "no consumer workspace binds the export yet: its APIExportEndpointSlice lists no shard"
		return cond
	}
	var unreachable, failing []string
	workspaces := 0
	for _, ep := range endpoints {
		workspaces += ep.Clusters
		switch {
		case !ep.Reachable:
			unreachable = append(unreachable, fmt.Sprintf("%s has not answered since %s (%d consumer workspaces there wait for it): %v",
				ep.URL, ep.Since.UTC().Format(time.RFC3339), ep.Clusters, ep.Err))
		case ep.Err != nil:
			failing = append(failing, fmt.Sprintf("%s answers with an error (%d consumer workspaces there wait for it): %v", ep.URL, ep.Clusters, ep.Err))
		}
	}
	switch {
	case len(unreachable) > 0:
		cond.Status, cond.Reason = metav1.ConditionFalse, ReasonShardUnreachable
		cond.Message = "the export's virtual workspace " + strings.Join(append(unreachable, failing...), "; ") +
			". Consumers on the other shards keep syncing, these catch up once their shard answers. Check that the shard runs and that the agent reaches it at this address; " +
			"where shards are reached through another address than the one they registered, map it with --endpoint-url-rewrite"
	case len(failing) > 0:
		cond.Status, cond.Reason = metav1.ConditionFalse, ReasonShardFailing
		cond.Message = "the export's virtual workspace " + strings.Join(failing, "; ") +
			". Check the agent's kcp identity: it needs get, list and watch on the APIExport's apiexports/content"
	default:
		cond.Status, cond.Reason = metav1.ConditionTrue, ReasonAllShardsAnswer
		cond.Message = fmt.Sprintf("the export's virtual workspace answers on all %d shards with consumers (%d consumer workspaces engaged)", len(endpoints), workspaces)
	}
	return cond
}

// healthNotifier requeues every PublishedResource when an endpoint starts or stops answering, so
// that their ConsumersReachable conditions follow. The provider is created before the controller
// that owns the queue, hence the indirection.
type healthNotifier struct {
	mu       sync.Mutex
	queue    workqueue.TypedRateLimitingInterface[reconcile.Request]
	provider client.Reader
}

func (n *healthNotifier) setQueue(q workqueue.TypedRateLimitingInterface[reconcile.Request], provider client.Reader) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.queue, n.provider = q, provider
}

func (n *healthNotifier) notify() {
	n.mu.Lock()
	q, provider := n.queue, n.provider
	n.mu.Unlock()
	if q == nil {
		return
	}
	list := &syncagentv1alpha1.PublishedResourceList{}
	if err := provider.List(context.Background(), list); err != nil {
		return // the next change, or any other event, brings them back
	}
	for _, pr := range list.Items {
		q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Name: pr.Name}})
	}
}
