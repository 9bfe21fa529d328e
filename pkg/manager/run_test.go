package manager

import (
	"testing"
)

func TestReadiness(t *testing.T) {
	elected := make(chan struct{})
	caughtUp := false
	check := readiness(elected, func() bool { return caughtUp })
	if err := check(nil); err != nil {
		t.Errorf("standby: %v, want ready", err)
	}
	close(elected)
	if err := check(nil); err == nil {
		t.Error("leader catching up: ready, want not ready")
	}
	caughtUp = true
	if err := check(nil); err != nil {
		t.Errorf("leader caught up: %v, want ready", err)
	}
}
