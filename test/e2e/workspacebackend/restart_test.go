package workspacebackend

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/bindery-dev/bindery/test/framework"
)

// batch is how many Databases TestKilledDuringABatch creates.
const batch = 200

// TestKilledDuringABatch creates 200 Databases in a team cluster and kills the konnector (first
// hop) and then the syncagent (second hop) with SIGKILL while they work, creating on while
// either is down, and starts both again: in the end the workspace holds exactly one copy of each
// Database, the provider cluster exactly one copy of each of those, and every Database in the
// team cluster is Ready, its status back over both hops.
func TestKilledDuringABatch(t *testing.T) {
	c := newChain(t)
	team := c.bindCluster(t, alice)
	ctx := framework.Context(t)
	createNamespace(t, team.client, "shop")
	workspaceCopies := func(ctx context.Context) (map[string]int, error) {
		items, err := list(ctx, c.team.Client, c.kind, team.namespace)
		return bySource(items), err
	}
	atLeast := func(what string, n int, count func(context.Context) (map[string]int, error)) {
		framework.WaitFor(t, 2*time.Minute, fmt.Sprintf("%d %s", n, what), func(ctx context.Context) (bool, string, error) {
			copies, err := count(ctx)
			return err == nil && len(copies) >= n, fmt.Sprintf("%d", len(copies)), err
		})
	}
	for i := range batch {
		switch i {
		case 50:
			atLeast("copies in the workspace", 20, workspaceCopies)
			t.Logf("killing the konnector after %d creates", i)
			team.konnector.Kill()
		case 100:
			atLeast("copies in the provider cluster", 10, c.providerCopies)
			t.Logf("killing the syncagent after %d creates", i)
			c.agentProcess.Kill()
		case 150:
			t.Logf("starting the konnector again after %d creates", i)
			team.restart()
		}
		if err := team.client.Create(ctx, framework.Database(team.kind, "shop", fmt.Sprintf("db-%03d", i))); err != nil {
			t.Fatalf("creating db-%03d: %v", i, err)
		}
	}
	t.Log("starting the syncagent again")
	c.agent()

	exactlyOne := func(what string, count func(context.Context) (map[string]int, error)) {
		framework.WaitFor(t, 5*time.Minute, "exactly one copy of each Database "+what, func(ctx context.Context) (bool, string, error) {
			copies, err := count(ctx)
			if err != nil {
				return false, "", err
			}
			for source, n := range copies {
				if n != 1 {
					return false, fmt.Sprintf("%s has %d copies", source, n), nil
				}
			}
			return len(copies) == batch, fmt.Sprintf("copies of %d sources", len(copies)), nil
		})
	}
	exactlyOne("in the workspace", workspaceCopies)
	exactlyOne("in the provider cluster", c.providerCopies)
	framework.WaitFor(t, 5*time.Minute, "every Database in the team cluster Ready", func(ctx context.Context) (bool, string, error) {
		items, err := list(ctx, team.client, team.kind, "shop")
		if err != nil {
			return false, "", err
		}
		ready := 0
		for _, item := range items {
			if phase, _, _ := unstructured.NestedString(item.Object, "status", "phase"); phase == "Ready" {
				ready++
			}
		}
		return len(items) == batch && ready == batch, fmt.Sprintf("%d of %d Ready", ready, len(items)), nil
	})
}
