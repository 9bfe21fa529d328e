package syncengine

import (
	"encoding/json"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
