package syncengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ReleasePatch returns a JSON patch that removes Finalizer from obj, for releasing a source
// object without syncing it (when the sync of its kind stops for good). The removal is guarded
// by a test of the finalizer's position, so that a concurrent change of the finalizers makes the
// patch fail instead of removing another finalizer. The bool is false when obj does not carry
// Finalizer.
func ReleasePatch(obj metav1.Object) (client.Patch, bool) {
	i := slices.Index(obj.GetFinalizers(), Finalizer)
	if i < 0 {
		return nil, false
	}
	at := fmt.Sprintf("/metadata/finalizers/%d", i)
	ops := []map[string]any{
		{"op": "test", "path": at, "value": Finalizer},
		{"op": "remove", "path": at},
	}
	data, _ := json.Marshal(ops) // plain strings: always marshals
	return client.RawPatch(types.JSONPatchType, data), true
}

// ReleasedAnnotation is put on a copy when the sync of its kind stops for good (MarkReleased): the
// provider owns the copy from then on, so the engine never deletes it because its source object
// is gone. A sync that finds the source object again takes the copy back and removes the mark.
const ReleasedAnnotation = "sync.bindery.dev/released"

// released reports whether a copy carries ReleasedAnnotation.
func released(obj metav1.Object) bool {
	_, ok := obj.GetAnnotations()[ReleasedAnnotation]
	return ok
}

// MarkReleased puts ReleasedAnnotation on every copy that agent made of source objects of
// sourceKind, listing the copies (of destinationKind) through c, and returns how many it marked.
func MarkReleased(ctx context.Context, c client.Client, agent string, sourceKind schema.GroupKind, destinationKind schema.GroupVersionKind) (int, error) {
	copies := &unstructured.UnstructuredList{}
	copies.SetGroupVersionKind(destinationKind.GroupVersion().WithKind(destinationKind.Kind + "List"))
	if err := c.List(ctx, copies, client.MatchingLabels{AgentLabel: agent}); err != nil {
		return 0, fmt.Errorf("listing the copies of %s: %w", destinationKind.GroupKind(), err)
	}
	marked := 0
	var errs []error
	for i := range copies.Items {
		copyObj := &copies.Items[i]
		if owner, ok := OwnerOf(copyObj); !ok || owner.Agent != agent || owner.Source.Kind != sourceKind || released(copyObj) {
			continue
		}
		patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, ReleasedAnnotation, time.Now().UTC().Format(time.RFC3339))
		if err := c.Patch(ctx, copyObj, client.RawPatch(types.MergePatchType, patch)); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("marking %s/%s released: %w", copyObj.GetNamespace(), copyObj.GetName(), err))
			continue
		}
		marked++
	}
	return marked, errors.Join(errs...)
}

// unrelease removes ReleasedAnnotation from a copy the engine takes back; existing may be nil.
func unrelease(ctx context.Context, c client.Client, existing *unstructured.Unstructured) error {
	if existing == nil || !released(existing) {
		return nil
	}
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:null}}}`, ReleasedAnnotation)
	if err := c.Patch(ctx, existing, client.RawPatch(types.MergePatchType, patch)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("taking the released copy back: %w", err)
	}
	return nil
}
