package syncagent

import (
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bindery-dev/bindery/providers/apiexport"
)

func TestReachableConditionNamesTheShardAndTheFix(t *testing.T) {
	since := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	up := apiexport.EndpointHealth{URL: "https://root:6443/services/apiexport/abc/dbs", Reachable: true, Clusters: 2}
	down := apiexport.EndpointHealth{URL: "https://shard-1:6443/services/apiexport/abc/dbs", Err: errors.New("context deadline exceeded"), Since: since, Clusters: 3}
	for _, tc := range []struct {
		name      string
		endpoints []apiexport.EndpointHealth
		status    metav1.ConditionStatus
		reason    string
		contains  []string
	}{
		{"no binding yet", nil, metav1.ConditionTrue, ReasonNoShards, []string{"lists no shard"}},
		{"all answer", []apiexport.EndpointHealth{up}, metav1.ConditionTrue, ReasonAllShardsAnswer, []string{"all 1 shards", "2 consumer workspaces"}},
		{"one down", []apiexport.EndpointHealth{up, down}, metav1.ConditionFalse, ReasonShardUnreachable,
			[]string{down.URL, "2025-01-02T03:04:05Z", "3 consumer workspaces", "deadline exceeded", "--endpoint-url-rewrite", "other shards keep syncing"}},
		{"refused", []apiexport.EndpointHealth{{URL: up.URL, Reachable: true, Err: errors.New("forbidden")}}, metav1.ConditionFalse, ReasonShardFailing,
			[]string{"forbidden", "apiexports/content"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cond := reachableCondition(tc.endpoints, 7)
			if cond.Status != tc.status || cond.Reason != tc.reason || cond.ObservedGeneration != 7 {
				t.Fatalf("got %s %s (generation %d): %s", cond.Status, cond.Reason, cond.ObservedGeneration, cond.Message)
			}
			for _, want := range tc.contains {
				if !strings.Contains(cond.Message, want) {
					t.Errorf("message %q does not mention %q", cond.Message, want)
				}
			}
		})
	}
}
