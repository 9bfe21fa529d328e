package restconfig

import "k8s.io/client-go/rest"

// The default client-side rate limit of bindery's processes, per client and API server.
const (
	DefaultQPS   = 200
	DefaultBurst = 400
)

// WithDefaultRateLimit returns a copy of cfg that has the default rate limit if cfg sets none.
func WithDefaultRateLimit(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = DefaultQPS, DefaultBurst
	}
	return cfg
}
