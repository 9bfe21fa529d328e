package manager

import (
	"testing"

	"k8s.io/client-go/rest"
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

func TestWithRateLimit(t *testing.T) {
	if cfg := withRateLimit(&rest.Config{}); cfg.QPS != DefaultQPS || cfg.Burst != DefaultBurst {
		t.Errorf("no limit given: QPS %v, burst %d; want the defaults", cfg.QPS, cfg.Burst)
	}
	if cfg := withRateLimit(&rest.Config{QPS: 7, Burst: 9}); cfg.QPS != 7 || cfg.Burst != 9 {
		t.Errorf("limit given: QPS %v, burst %d; want 7, 9", cfg.QPS, cfg.Burst)
	}
}
