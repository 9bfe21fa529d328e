package syncengine

import (
	"testing"

	"k8s.io/apimachinery/pkg/labels"
)

func TestSelectionChanged(t *testing.T) {
	sel, err := labels.Parse("databases.example.com/enabled=true")
	if err != nil {
		t.Fatal(err)
	}
	on := map[string]string{"databases.example.com/enabled": "true"}
	off := map[string]string{"databases.example.com/enabled": "false"}
	other := map[string]string{"databases.example.com/enabled": "true", "team": "a"}
	for _, tc := range []struct {
		name     string
		old, new map[string]string
		want     bool
	}{
		{"label added", nil, on, true},
		{"label removed", on, nil, true},
		{"label changed to no match", on, off, true},
		{"unrelated label added to a selected namespace", on, other, false},
		{"unrelated label on an unselected namespace", nil, map[string]string{"team": "a"}, false},
		{"no change", on, on, false},
	} {
		if got := SelectionChanged(sel, tc.old, tc.new); got != tc.want {
			t.Errorf("%s: selectionChanged = %v, want %v", tc.name, got, tc.want)
		}
	}
}
