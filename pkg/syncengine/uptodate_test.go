package syncengine

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func copyWith(spec map[string]any, labels map[string]string) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "x/v1", "kind": "K", "spec": spec}}
	obj.SetName("n")
	obj.SetLabels(labels)
	return obj
}

func TestUpToDate(t *testing.T) {
	desired := copyWith(map[string]any{"engine": "postgres", "replicas": int64(2)}, map[string]string{"team": "a"})
	markApplied(desired)

	same := desired.DeepCopy()
	withDefaults := desired.DeepCopy()
	_ = unstructured.SetNestedField(withDefaults.Object, "gold", "spec", "tier")
	withDefaults.SetLabels(map[string]string{"team": "a", "provider": "x"})
	drifted := desired.DeepCopy()
	_ = unstructured.SetNestedField(drifted.Object, "mysql", "spec", "engine")
	unmarked := desired.DeepCopy()
	unmarked.SetAnnotations(nil)
	newer := copyWith(map[string]any{"engine": "postgres"}, map[string]string{"team": "a"})
	markApplied(newer)

	for name, tc := range map[string]struct {
		existing, desired *unstructured.Unstructured
		want              bool
	}{
		"unchanged":                           {same, desired, true},
		"provider added fields and labels":    {withDefaults, desired, true},
		"provider changed an agent's field":   {drifted, desired, false},
		"copy without the applied hash":       {unmarked, desired, false},
		"consumer removed a field (new hash)": {withDefaults, newer, false},
	} {
		if got := upToDate(tc.existing, tc.desired); got != tc.want {
			t.Errorf("%s: upToDate = %v, want %v", name, got, tc.want)
		}
	}
}
