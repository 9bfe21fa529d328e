package restconfig

import (
	"testing"

	"k8s.io/client-go/rest"
)

func TestWithDefaultRateLimit(t *testing.T) {
	given := &rest.Config{}
	if cfg := WithDefaultRateLimit(given); cfg.QPS != DefaultQPS || cfg.Burst != DefaultBurst {
		t.Errorf("no limit given: QPS %v, burst %d; want the defaults", cfg.QPS, cfg.Burst)
	}
	if given.QPS != 0 {
		t.Errorf("the given config was changed: QPS %v", given.QPS)
	}
	if cfg := WithDefaultRateLimit(&rest.Config{QPS: 7, Burst: 9}); cfg.QPS != 7 || cfg.Burst != 9 {
		t.Errorf("limit given: QPS %v, burst %d; want 7, 9", cfg.QPS, cfg.Burst)
	}
}
