package syncagent

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/record"
)

// EventPolicy says which events the agent writes on consumers' objects.
type EventPolicy string

const (
	// AllEvents writes progress (Synced; Accepted and Placed when placing is held up) and problems.
	AllEvents EventPolicy = "all"
	// WarningEvents writes problems only. Every event is a write through kcp's virtual workspace,
	// which costs kcp about as much as the object's own sync writes (docs/performance.md), so on a
	// busy fleet this lets kcp sync more objects per second.
	WarningEvents EventPolicy = "warnings"
)

// Validate accepts the known policies and the empty default (all).
func (p EventPolicy) Validate() error {
	switch p {
	case "", AllEvents, WarningEvents:
		return nil
	}
	return fmt.Errorf("unknown event policy %q: use %q or %q", p, AllEvents, WarningEvents)
}

// Recorder wraps a consumer cluster's recorder so that it writes what the policy allows.
func (p EventPolicy) Recorder(r record.EventRecorder) record.EventRecorder {
	if p == WarningEvents {
		return warningsOnly{r}
	}
	return r
}

// warningsOnly drops Normal events and passes the others on.
type warningsOnly struct{ record.EventRecorder }

func (w warningsOnly) Event(obj runtime.Object, eventtype, reason, message string) {
	if eventtype != corev1.EventTypeNormal {
		w.EventRecorder.Event(obj, eventtype, reason, message)
	}
}

func (w warningsOnly) Eventf(obj runtime.Object, eventtype, reason, messageFmt string, args ...any) {
	if eventtype != corev1.EventTypeNormal {
		w.EventRecorder.Eventf(obj, eventtype, reason, messageFmt, args...)
	}
}

func (w warningsOnly) AnnotatedEventf(obj runtime.Object, annotations map[string]string, eventtype, reason, messageFmt string, args ...any) {
	if eventtype != corev1.EventTypeNormal {
		w.EventRecorder.AnnotatedEventf(obj, annotations, eventtype, reason, messageFmt, args...)
	}
}
