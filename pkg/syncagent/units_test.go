package syncagent

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestUnitBackoff(t *testing.T) {
	for failures, want := range map[int]time.Duration{
		1: 2 * time.Second, 2: 4 * time.Second, 3: 8 * time.Second, 8: 256 * time.Second,
		9: 5 * time.Minute, 100: 5 * time.Minute,
	} {
		if got := unitBackoff(failures); got != want {
			t.Errorf("unitBackoff(%d) = %s, want %s", failures, got, want)
		}
	}
}

// hookCounter is a context that counts the AfterFunc hooks registered on it and not yet released.
// It hides the context it wraps from the context package (Value), which then registers through
// its AfterFunc method.
type hookCounter struct {
	inner context.Context
	mu    sync.Mutex
	hooks int
}

func (c *hookCounter) Deadline() (time.Time, bool) { return c.inner.Deadline() }
func (c *hookCounter) Done() <-chan struct{}       { return c.inner.Done() }
func (c *hookCounter) Err() error                  { return c.inner.Err() }
func (c *hookCounter) Value(any) any               { return nil }

func (c *hookCounter) AfterFunc(f func()) func() bool {
	c.mu.Lock()
	c.hooks++
	c.mu.Unlock()
	stop := context.AfterFunc(c.inner, f)
	return func() bool {
		c.mu.Lock()
		c.hooks--
		c.mu.Unlock()
		return stop()
	}
}

func (c *hookCounter) live() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hooks
}

// TestEngagementContextReleasesTheClusterHook replaces a unit on a cluster that stays engaged:
// the stopped unit's hook on the cluster's context must be released.
func TestEngagementContextReleasesTheClusterHook(t *testing.T) {
	engaged, disengageAll := context.WithCancel(context.Background())
	defer disengageAll()
	clusterCtx := &hookCounter{inner: engaged}
	for range 3 {
		unitCtx, stopUnit := context.WithCancel(context.Background())
		ctx := engagementContext(unitCtx, clusterCtx)
		if clusterCtx.live() != 1 {
			t.Fatalf("%d hooks on the cluster while one unit runs, want 1", clusterCtx.live())
		}
		stopUnit()
		<-ctx.Done()
		waitFor(t, func() bool { return clusterCtx.live() == 0 }, "the stopped unit's hook to be released")
	}

	cluster, disengage := context.WithCancel(context.Background())
	ctx := engagementContext(context.Background(), cluster)
	disengage()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the engagement did not end with its cluster")
	}
}

// waitFor polls cond for up to ten seconds (AfterFunc hooks run in goroutines of their own).
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
