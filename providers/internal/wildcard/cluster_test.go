package wildcard

import (
	"context"
	"sync"
	"testing"

	"github.com/kcp-dev/logicalcluster/v3"
)

// TestEventRecordersWhileStopping asks a cluster for its first event recorders while it is being
// stopped (a controller's first event as the workspace is disengaged). Run with -race: the
// recorders must be guarded, and none may be left running after the stop.
func TestEventRecordersWhileStopping(t *testing.T) {
	c := newTestCache(t, newFakeServer())
	for range 20 {
		cl := c.NewCluster(logicalcluster.Name("ws"))
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan struct{})
		go func() {
			_ = cl.Start(ctx)
			close(stopped)
		}()
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); cl.GetEventRecorderFor("test").Event(nil, "Normal", "R", "m") }()
		go func() { defer wg.Done(); cancel() }()
		wg.Wait()
		<-stopped
		cl.recordersMu.Lock()
		if !cl.stopped || cl.recorders == nil {
			t.Fatalf("after the stop: stopped=%v, recorders=%v; want a stopped cluster with its recorders", cl.stopped, cl.recorders != nil)
		}
		cl.recordersMu.Unlock()
	}
}
