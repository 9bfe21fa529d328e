package konnector

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	// bindings counts the ServiceBindings by their Ready reason: "Ready" for those that are, and
	// the reason of the first condition that is not for the others (Revoked, SchemaConflict, ...).
	bindings = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "bindery_konnector_bindings",
		Help: "ServiceBindings by state: the reason of their Ready condition (Ready, Revoked, ProviderUnreachable, SchemaConflict, SyncFailed, ...).",
	}, []string{"state"})
	// renewals counts the credential renewals; failures show long before the credential expires.
	renewals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bindery_konnector_credential_renewals_total",
		Help: "Renewals of the bindings' provider credentials, by result (success, failure).",
	}, []string{"result"})
)

func init() { metrics.Registry.MustRegister(bindings, renewals) }

// bindingStates remembers each binding's state and keeps the bindings gauge in line with it.
type bindingStates struct {
	mu    sync.Mutex
	state map[string]string
}

// observe records binding's state.
func (s *bindingStates) observe(binding, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == nil {
		s.state = map[string]string{}
	}
	if old, ok := s.state[binding]; ok {
		if old == state {
			return
		}
		bindings.WithLabelValues(old).Dec()
	}
	s.state[binding] = state
	bindings.WithLabelValues(state).Inc()
}

// forget drops a binding that is gone.
func (s *bindingStates) forget(binding string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.state[binding]; ok {
		bindings.WithLabelValues(old).Dec()
		delete(s.state, binding)
	}
}
