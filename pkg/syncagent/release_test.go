package syncagent

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/bindery-dev/bindery/pkg/publishing"
)

func TestProjectedKind(t *testing.T) {
	for in, want := range map[string]schema.GroupVersionKind{
		publishing.GroupKind("Database", "databases.example.com"): {Group: "databases.example.com", Kind: "Database"},
		publishing.GroupKind("Thing", ""):                         {Kind: "Thing"},
	} {
		got, ok := projectedKind(in)
		if !ok || got != want {
			t.Errorf("projectedKind(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	if _, ok := projectedKind(""); ok {
		t.Error("an empty status.projected gave a kind")
	}
}

// TestFinalizerIsValid: every valid agent name gives a valid finalizer.
func TestFinalizerIsValid(t *testing.T) {
	for _, agent := range []string{"a", "dbs-agent", strings.Repeat("a", 63)} {
		if errs := validation.IsQualifiedName(Finalizer(agent)); len(errs) > 0 {
			t.Errorf("Finalizer(%q) = %q is invalid: %v", agent, Finalizer(agent), errs)
		}
	}
}
