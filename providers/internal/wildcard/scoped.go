package wildcard

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kcp-dev/logicalcluster/v3"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ScopedCache is the view of one logical cluster on the endpoint's shared informers. It
// implements controller-runtime's cache.Cache; reads return only the cluster's objects and event
// handlers see only the cluster's events.
type ScopedCache struct {
	shared  *Cache
	cluster logicalcluster.Name

	mu   sync.Mutex
	used map[*sharedInformer]struct{}
}

var _ cache.Cache = &ScopedCache{}

// ForCluster returns the view of one logical cluster. It is cheap: no informer, goroutine or
// connection is created per cluster.
func (c *Cache) ForCluster(cluster logicalcluster.Name) *ScopedCache {
	return &ScopedCache{shared: c, cluster: cluster, used: map[*sharedInformer]struct{}{}}
}

// informerFor returns the shared informer for obj and remembers it for WaitForCacheSync.
func (s *ScopedCache) informerFor(obj runtime.Object) (*sharedInformer, error) {
	inf, err := s.shared.informerFor(obj)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.used[inf] = struct{}{}
	s.mu.Unlock()
	return inf, nil
}

// GetInformer returns the cluster's view of the shared informer for obj's kind.
func (s *ScopedCache) GetInformer(ctx context.Context, obj client.Object, opts ...cache.InformerGetOption) (cache.Informer, error) {
	inf, err := s.informerFor(obj)
	if err != nil {
		return nil, err
	}
	if blockUntilSynced(opts) && !toolscache.WaitForCacheSync(ctx.Done(), inf.informer.HasSynced) {
		return nil, fmt.Errorf("waiting for %s informer to sync: %w", inf.gvk, ctx.Err())
	}
	return &scopedInformer{shared: inf, cluster: s.cluster}, nil
}

// GetInformerForKind is GetInformer for a kind known to the scheme.
func (s *ScopedCache) GetInformerForKind(ctx context.Context, gvk schema.GroupVersionKind, opts ...cache.InformerGetOption) (cache.Informer, error) {
	obj, err := s.shared.opts.Scheme.New(gvk)
	if err != nil {
		return nil, err
	}
	cobj, ok := obj.(client.Object)
	if !ok {
		return nil, fmt.Errorf("%s is not a client.Object", gvk)
	}
	return s.GetInformer(ctx, cobj, opts...)
}

// RemoveInformer is refused: the informer is shared with every other cluster of the endpoint.
func (s *ScopedCache) RemoveInformer(context.Context, client.Object) error {
	return errors.New("a cluster-scoped view cannot remove a shared wildcard informer")
}

// Start does nothing: the provider runs the shared informers. It returns when ctx ends, like
// any controller-runtime cache.
func (s *ScopedCache) Start(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// WaitForCacheSync waits until every shared informer this view has used has synced.
func (s *ScopedCache) WaitForCacheSync(ctx context.Context) bool {
	s.mu.Lock()
	synced := make([]toolscache.InformerSynced, 0, len(s.used))
	for inf := range s.used {
		synced = append(synced, inf.informer.HasSynced)
	}
	s.mu.Unlock()
	return toolscache.WaitForCacheSync(ctx.Done(), synced...)
}

// IndexField adds a field index to the shared informer (once per kind and field, for all
// clusters); see Cache.IndexField.
func (s *ScopedCache) IndexField(ctx context.Context, obj client.Object, field string, extract client.IndexerFunc) error {
	return s.shared.IndexField(ctx, obj, field, extract)
}

func blockUntilSynced(opts []cache.InformerGetOption) bool {
	o := cache.InformerGetOptions{}
	for _, opt := range opts {
		opt(&o)
	}
	return o.BlockUntilSynced == nil || *o.BlockUntilSynced
}

// scopedInformer is one cluster's view of a shared informer: its handlers go to the router.
type scopedInformer struct {
	shared  *sharedInformer
	cluster logicalcluster.Name
}

var _ cache.Informer = &scopedInformer{}

func (i *scopedInformer) AddEventHandler(h toolscache.ResourceEventHandler) (toolscache.ResourceEventHandlerRegistration, error) {
	return i.shared.router.add(i.cluster, h)
}

// AddEventHandlerWithResyncPeriod ignores the period: the shared informer's resync applies.
func (i *scopedInformer) AddEventHandlerWithResyncPeriod(h toolscache.ResourceEventHandler, _ time.Duration) (toolscache.ResourceEventHandlerRegistration, error) {
	return i.AddEventHandler(h)
}

func (i *scopedInformer) AddEventHandlerWithOptions(h toolscache.ResourceEventHandler, _ toolscache.HandlerOptions) (toolscache.ResourceEventHandlerRegistration, error) {
	return i.AddEventHandler(h)
}

func (i *scopedInformer) RemoveEventHandler(handle toolscache.ResourceEventHandlerRegistration) error {
	reg, ok := handle.(*registration)
	if !ok || reg.cluster != i.cluster || !i.shared.router.remove(reg) {
		return fmt.Errorf("handler is not registered for cluster %s", i.cluster)
	}
	return nil
}

// AddIndexers adds raw indexers to the shared informer; their functions see every cluster's objects.
func (i *scopedInformer) AddIndexers(indexers toolscache.Indexers) error {
	return i.shared.informer.AddIndexers(indexers)
}

func (i *scopedInformer) HasSynced() bool { return i.shared.informer.HasSynced() }
func (i *scopedInformer) IsStopped() bool { return i.shared.informer.IsStopped() }
