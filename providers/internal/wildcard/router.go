package wildcard

import (
	"sync"
	"sync/atomic"

	"github.com/kcp-dev/logicalcluster/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	toolscache "k8s.io/client-go/tools/cache"

	kcpcache "github.com/kcp-dev/apimachinery/v2/pkg/cache"
)

// router is the only event handler of a shared informer. It dispatches each event to the handlers
// registered for the event's logical cluster.
type router struct {
	indexer toolscache.Indexer
	// upstream is the router's own registration on the shared informer; a cluster handler has
	// synced once the router has seen the informer's initial list.
	upstream toolscache.ResourceEventHandlerRegistration

	mu sync.RWMutex
	// byCluster holds copy-on-write slices: dispatch reads them without holding the lock.
	byCluster map[logicalcluster.Name][]*registration
}

var _ toolscache.ResourceEventHandler = &router{}

func newRouter(indexer toolscache.Indexer) *router {
	return &router{indexer: indexer, byCluster: map[logicalcluster.Name][]*registration{}}
}

// registration is one handler of one cluster; it implements ResourceEventHandlerRegistration.
type registration struct {
	router   *router
	cluster  logicalcluster.Name
	handler  toolscache.ResourceEventHandler
	replayed atomic.Bool
}

// HasSynced is true once the shared informer's initial list has reached the router and the
// cluster's existing objects were replayed to this handler.
func (r *registration) HasSynced() bool {
	return r.replayed.Load() && r.router.upstream != nil && r.router.upstream.HasSynced()
}

// add registers a handler for a cluster. The cluster's objects already in the store are replayed
// to it as adds first, under the lock, so that no event falls between replay and registration.
// An object whose event is still on its way to the router may be delivered twice; controllers
// tolerate duplicate adds, they cannot tolerate missing ones.
func (r *router) add(cluster logicalcluster.Name, handler toolscache.ResourceEventHandler) (*registration, error) {
	reg := &registration{router: r, cluster: cluster, handler: handler}
	r.mu.Lock()
	defer r.mu.Unlock()
	existing, err := r.indexer.ByIndex(kcpcache.ClusterIndexName, kcpcache.ClusterIndexKey(cluster))
	if err != nil {
		return nil, err
	}
	for _, obj := range existing {
		handler.OnAdd(obj, true)
	}
	reg.replayed.Store(true)
	regs := r.byCluster[cluster]
	r.byCluster[cluster] = append(regs[:len(regs):len(regs)], reg)
	return reg, nil
}

// remove unregisters a handler; it reports whether it was registered.
func (r *router) remove(reg *registration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	regs := r.byCluster[reg.cluster]
	for i, candidate := range regs {
		if candidate != reg {
			continue
		}
		rest := make([]*registration, 0, len(regs)-1)
		rest = append(append(rest, regs[:i]...), regs[i+1:]...)
		if len(rest) == 0 {
			delete(r.byCluster, reg.cluster)
		} else {
			r.byCluster[reg.cluster] = rest
		}
		return true
	}
	return false
}

// handlersOf returns the registrations of the cluster an object belongs to.
func (r *router) handlersOf(obj any) []*registration {
	if tombstone, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.byCluster[logicalcluster.From(accessor)]
}

func (r *router) OnAdd(obj any, isInInitialList bool) {
	for _, reg := range r.handlersOf(obj) {
		reg.handler.OnAdd(obj, isInInitialList)
	}
}

func (r *router) OnUpdate(oldObj, newObj any) {
	for _, reg := range r.handlersOf(newObj) {
		reg.handler.OnUpdate(oldObj, newObj)
	}
}

func (r *router) OnDelete(obj any) {
	for _, reg := range r.handlersOf(obj) {
		reg.handler.OnDelete(obj)
	}
}

// clusterCount is the number of clusters with at least one handler (for tests).
func (r *router) clusterCount() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.byCluster)
}
