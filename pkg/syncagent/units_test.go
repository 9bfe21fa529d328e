package syncagent

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"
)

func TestUnitBackoff(t *testing.T) {
	for failures, want := range map[int]time.Duration{
		1: 2 * time.Second, 2: 4 * time.Second, 3: 8 * time.Second, 8: 256 * time.Second,
		9: 5 * time.Minute, 100: 5 * time.Minute,
	} {
		if got := unitBackoff(failures); got != want {
			t.Errorf("unitBackoff(%d) = %s, want %s", failures, got, want)
		}
	}
}

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
		if got := selectionChanged(sel, tc.old, tc.new); got != tc.want {
			t.Errorf("%s: selectionChanged = %v, want %v", tc.name, got, tc.want)
		}
	}
}
