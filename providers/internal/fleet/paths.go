package fleet

import (
	"sync"

	"github.com/kcp-dev/logicalcluster/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/kcp-dev/sdk/apis/core"
)

// pathIndex maps workspace paths (root:org:team) to logical cluster names, learned from the
// kcp.io/path annotation kcp puts on each workspace's LogicalCluster object.
type pathIndex struct {
	mu     sync.RWMutex
	byPath map[logicalcluster.Path]logicalcluster.Name
}

func newPathIndex() *pathIndex {
	return &pathIndex{byPath: map[logicalcluster.Path]logicalcluster.Name{}}
}

func (p *pathIndex) lookup(path logicalcluster.Path) (logicalcluster.Name, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	name, ok := p.byPath[path]
	return name, ok
}

func (p *pathIndex) set(obj any, present bool) {
	if tombstone, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	path := logicalcluster.NewPath(accessor.GetAnnotations()[core.LogicalClusterPathAnnotationKey])
	if path.Empty() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if present {
		p.byPath[path] = logicalcluster.From(accessor)
	} else {
		delete(p.byPath, path)
	}
}

func (p *pathIndex) handler() toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { p.set(obj, true) },
		UpdateFunc: func(_, obj any) { p.set(obj, true) },
		DeleteFunc: func(obj any) { p.set(obj, false) },
	}
}
