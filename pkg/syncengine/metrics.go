package syncengine

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Outcomes of writing a copy, as the syncObjects metric labels them.
const (
	outcomeCreated   = "created"
	outcomeUpdated   = "updated"
	outcomeUnchanged = "unchanged"
	outcomeConflict  = "conflict"
	outcomeRefused   = "refused"
	outcomeDeleted   = "deleted"
)

// syncedObjects counts what the engine did to copies, per agent: a provider watching
// "conflict" learns that consumer objects are waiting on a name that is taken.
var syncedObjects = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "bindery_sync_copies_total",
	Help: "Copies the sync engine created, updated, left unchanged, could not write because the name is taken (conflict), could not create because the destination's quota is used up (refused), or deleted.",
}, []string{"agent", "outcome"})

func init() { metrics.Registry.MustRegister(syncedObjects) }

func (r *Reconciler) count(outcome string) { syncedObjects.WithLabelValues(r.Agent, outcome).Inc() }
