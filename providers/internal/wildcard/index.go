package wildcard

import (
	"context"
	"fmt"

	"github.com/kcp-dev/logicalcluster/v3"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// allNamespaces stands for "any namespace" in field index values.
const allNamespaces = "__all_namespaces"

// IndexField adds a field index to the shared informer of obj's kind. It applies to every
// cluster, current and future, and is added once per kind and field however often it is asked
// for. Index values carry the object's logical cluster, so each cluster's List sees only its own
// matches.
//
// The index is remembered and added when the informer is created, so IndexField works before the
// endpoint serves (controllers add indexes at setup time).
func (c *Cache) IndexField(_ context.Context, obj client.Object, field string, extract client.IndexerFunc) error {
	key, err := c.keyFor(obj)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ik := indexKey{informer: key, field: field}
	if _, done := c.indexes[ik]; done {
		return nil
	}
	c.indexes[ik] = clusterFieldIndexer(extract)
	if inf, ok := c.informers[key]; ok {
		return addIndex(inf, field, c.indexes[ik])
	}
	return nil
}

// pendingIndexers returns the field indexes asked for before the informer for key existed.
// Callers hold c.mu.
func (c *Cache) pendingIndexers(key informerKey) toolscache.Indexers {
	indexers := toolscache.Indexers{}
	for ik, fn := range c.indexes {
		if ik.informer == key {
			indexers[fieldIndexName(ik.field)] = fn
		}
	}
	return indexers
}

func addIndex(inf *sharedInformer, field string, fn toolscache.IndexFunc) error {
	if err := inf.informer.AddIndexers(toolscache.Indexers{fieldIndexName(field): fn}); err != nil {
		return fmt.Errorf("indexing %s by %s: %w", inf.gvk, field, err)
	}
	return nil
}

// clusterFieldIndexer prefixes every extracted value with the object's cluster and namespace, and
// adds an all-namespaces entry for lists across namespaces.
func clusterFieldIndexer(extract client.IndexerFunc) toolscache.IndexFunc {
	return func(raw any) ([]string, error) {
		obj, ok := raw.(client.Object)
		if !ok {
			return nil, fmt.Errorf("%T is not a client.Object", raw)
		}
		cluster := logicalcluster.From(obj).String()
		values := extract(obj)
		keys := make([]string, 0, 2*len(values))
		for _, value := range values {
			keys = append(keys, fieldIndexValue(cluster, "", value))
			if ns := obj.GetNamespace(); ns != "" {
				keys = append(keys, fieldIndexValue(cluster, ns, value))
			}
		}
		return keys, nil
	}
}

func fieldIndexName(field string) string { return "field:" + field }

// fieldIndexValue is the index key for a value in a cluster, in one namespace or (ns == "") any.
func fieldIndexValue(cluster, namespace, value string) string {
	if namespace == "" {
		namespace = allNamespaces
	}
	return cluster + "|" + namespace + "|" + value
}
