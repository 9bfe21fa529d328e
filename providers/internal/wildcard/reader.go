package wildcard

import (
	"context"
	"fmt"
	"reflect"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kcpcache "github.com/kcp-dev/apimachinery/v2/pkg/cache"
)

// Get reads one object of the cluster from the shared informer's store.
func (s *ScopedCache) Get(ctx context.Context, key client.ObjectKey, out client.Object, _ ...client.GetOption) error {
	inf, err := s.informerFor(out)
	if err != nil {
		return err
	}
	if !waitForSync(ctx, inf) {
		return syncError(ctx, inf)
	}
	if !inf.namespaced {
		key.Namespace = ""
	}
	obj, exists, err := inf.informer.GetIndexer().GetByKey(kcpcache.ToClusterAwareKey(s.cluster.String(), key.Namespace, key.Name))
	if err != nil {
		return err
	}
	if !exists {
		return apierrors.NewNotFound(schema.GroupResource{Group: inf.gvk.Group, Resource: inf.gvk.Kind}, key.Name)
	}
	return copyInto(obj, out, inf.gvk)
}

// List reads the cluster's objects, optionally in one namespace, matching a label selector and an
// exact field selector on an indexed field (see IndexField).
func (s *ScopedCache) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	inf, err := s.informerFor(list)
	if err != nil {
		return err
	}
	if !waitForSync(ctx, inf) {
		return syncError(ctx, inf)
	}
	listOpts := client.ListOptions{}
	listOpts.ApplyOptions(opts)

	items, err := s.candidates(inf, listOpts)
	if err != nil {
		return err
	}
	selector := listOpts.LabelSelector
	if selector == nil {
		selector = labels.Everything()
	}
	objs := make([]runtime.Object, 0, len(items))
	for _, item := range items {
		obj, ok := item.(client.Object)
		if !ok || !selector.Matches(labels.Set(obj.GetLabels())) {
			continue
		}
		if listOpts.Limit > 0 && int64(len(objs)) >= listOpts.Limit {
			break
		}
		objs = append(objs, obj.DeepCopyObject())
	}
	return meta.SetList(list, objs)
}

// candidates uses the narrowest index for the list options.
func (s *ScopedCache) candidates(inf *sharedInformer, opts client.ListOptions) ([]any, error) {
	indexer := inf.informer.GetIndexer()
	if opts.FieldSelector != nil && !opts.FieldSelector.Empty() {
		field, value, err := exactField(opts.FieldSelector)
		if err != nil {
			return nil, err
		}
		return indexer.ByIndex(fieldIndexName(field), fieldIndexValue(s.cluster.String(), opts.Namespace, value))
	}
	if opts.Namespace != "" {
		return indexer.ByIndex(kcpcache.ClusterAndNamespaceIndexName, kcpcache.ClusterAndNamespaceIndexKey(s.cluster, opts.Namespace))
	}
	return indexer.ByIndex(kcpcache.ClusterIndexName, kcpcache.ClusterIndexKey(s.cluster))
}

// exactField accepts the one kind of field selector a cache can answer: field=value.
func exactField(sel fields.Selector) (string, string, error) {
	reqs := sel.Requirements()
	if len(reqs) != 1 || (reqs[0].Operator != selection.Equals && reqs[0].Operator != selection.DoubleEquals) {
		return "", "", fmt.Errorf("field selector %q: the cache answers only one exact match on an indexed field", sel)
	}
	return reqs[0].Field, reqs[0].Value, nil
}

// copyInto deep-copies a stored object into out, which must be of the same Go type.
func copyInto(stored any, out client.Object, gvk schema.GroupVersionKind) error {
	obj, ok := stored.(runtime.Object)
	if !ok {
		return fmt.Errorf("cache contained %T, which is not an object", stored)
	}
	copied := obj.DeepCopyObject()
	outVal, copiedVal := reflect.ValueOf(out), reflect.ValueOf(copied)
	if outVal.Type() != copiedVal.Type() {
		return fmt.Errorf("cache holds %T, cannot read it into %T", copied, out)
	}
	outVal.Elem().Set(copiedVal.Elem())
	out.GetObjectKind().SetGroupVersionKind(gvk)
	return nil
}

// waitForSync blocks reads until the shared informer has its initial list, like controller-runtime's
// cache. It waits as long as ctx lets it: an informer whose list keeps failing (forbidden, a
// resource the endpoint does not serve) never syncs, so callers bound ctx.
func waitForSync(ctx context.Context, inf *sharedInformer) bool {
	return toolscache.WaitForCacheSync(ctx.Done(), inf.informer.HasSynced)
}

// syncError says that a read gave up waiting for an informer's first list.
func syncError(ctx context.Context, inf *sharedInformer) error {
	return fmt.Errorf("waiting for the %s informer to sync (its list or watch may be failing; the log says why): %w", inf.gvk, ctx.Err())
}
