package syncengine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// AppliedAnnotation holds a hash of what the agent last applied to a copy.
const AppliedAnnotation = "sync.bindery.dev/applied"

// markApplied records the hash of the desired copy in the copy itself.
func markApplied(desired *unstructured.Unstructured) {
	annotations := desired.GetAnnotations()
	delete(annotations, AppliedAnnotation)
	data, _ := json.Marshal(desired.Object) // a desired copy is plain JSON; it always marshals
	sum := sha256.Sum256(data)
	annotations = withLabel(annotations, AppliedAnnotation, hex.EncodeToString(sum[:10]))
	desired.SetAnnotations(annotations)
}

// upToDate reports whether applying desired would change nothing: the copy carries the hash of
// the same desired state, and every field the agent sets still has the agent's value there. Fields
// others added (defaults, the provider's operator) do not matter; a field of the agent's changed
// on the provider side does, and is set back.
func upToDate(existing, desired *unstructured.Unstructured) bool {
	if existing.GetAnnotations()[AppliedAnnotation] != desired.GetAnnotations()[AppliedAnnotation] {
		return false
	}
	for key, value := range desired.Object {
		if key == "metadata" {
			continue
		}
		if !subset(value, existing.Object[key]) {
			return false
		}
	}
	return subset(toAny(desired.GetLabels()), toAny(existing.GetLabels())) &&
		subset(toAny(desired.GetAnnotations()), toAny(existing.GetAnnotations()))
}

// subset reports whether want is contained in have: maps key by key, anything else by equality.
func subset(want, have any) bool {
	wantMap, ok := want.(map[string]any)
	if !ok {
		return equality.Semantic.DeepEqual(want, have)
	}
	haveMap, ok := have.(map[string]any)
	if !ok {
		return false
	}
	for key, value := range wantMap {
		if !subset(value, haveMap[key]) {
			return false
		}
	}
	return true
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
