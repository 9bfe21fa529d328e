package catalog

import (
	"context"
	"net/http"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
)

// configCluster is a cluster.Cluster with only a config and an HTTP client.
type configCluster struct {
	cluster.Cluster
	host string
}

func (c configCluster) GetConfig() *rest.Config     { return &rest.Config{Host: c.host} }
func (c configCluster) GetHTTPClient() *http.Client { return http.DefaultClient }

func (i *Inventory) cached(host string) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	_, ok := i.clients[host]
	return ok
}

// TestInventoryDropsClientOnDisengage: the client of a workspace is dropped when the workspace is
// disengaged, and only that workspace's.
func TestInventoryDropsClientOnDisengage(t *testing.T) {
	i := &Inventory{Scheme: runtime.NewScheme()}
	gone := configCluster{host: "https://kcp.example/clusters/gone"}
	stays := configCluster{host: "https://kcp.example/clusters/stays"}
	goneCtx, disengage := context.WithCancel(context.Background())
	stayCtx, stop := context.WithCancel(context.Background())
	defer stop()
	for ctx, cl := range map[context.Context]configCluster{goneCtx: gone, stayCtx: stays} {
		if err := i.Engage(ctx, "", cl); err != nil {
			t.Fatal(err)
		}
		if _, err := i.clientFor(cl); err != nil {
			t.Fatal(err)
		}
	}
	first, _ := i.clientFor(stays)
	disengage()
	deadline := time.Now().Add(5 * time.Second)
	for i.cached(gone.host) {
		if time.Now().After(deadline) {
			t.Fatal("the client of the disengaged workspace is still cached")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if again, _ := i.clientFor(stays); again != first {
		t.Error("the client of a workspace that is still engaged was dropped")
	}
}
