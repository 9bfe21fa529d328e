package konnector

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestBindingStates(t *testing.T) {
	var s bindingStates
	value := func(state string) float64 { return testutil.ToFloat64(bindings.WithLabelValues(state)) }
	readyBefore, revokedBefore := value("Ready"), value("Revoked")
	s.observe("a", "Ready")
	s.observe("b", "Ready")
	s.observe("b", "Ready")
	s.observe("a", "Revoked")
	if got := value("Ready") - readyBefore; got != 1 {
		t.Errorf("ready: %v, want 1", got)
	}
	if got := value("Revoked") - revokedBefore; got != 1 {
		t.Errorf("revoked: %v, want 1", got)
	}
	s.forget("a")
	s.forget("unknown")
	if got := value("Revoked") - revokedBefore; got != 0 {
		t.Errorf("revoked after the binding went: %v, want 0", got)
	}
	if problems, err := testutil.CollectAndLint(bindings); err != nil || len(problems) > 0 {
		t.Fatalf("metric lint: %v %v", problems, err)
	}
}
