package syncengine

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/record"
)

func TestAQuotaRefusalTellsTheCapWithoutTheProvidersNames(t *testing.T) {
	gr := schema.GroupResource{Group: "db.provider.example", Resource: "databases"}
	// As kube-apiserver's ResourceQuota admission words it.
	quota := apierrors.NewForbidden(gr, "bindery-consumer-0123456789abcdef-shop-orders", errors.New(
		"exceeded quota: bindery-objects, requested: count/databases.db.provider.example=1, used: count/databases.db.provider.example=10, limited: count/databases.db.provider.example=10"))
	var refused *refusal
	if !errors.As(asRefusal(quota, "Database"), &refused) {
		t.Fatalf("asRefusal(%v) is no refusal", quota)
	}
	if refused.reason != ReasonQuotaExceeded {
		t.Errorf("reason = %s, want %s", refused.reason, ReasonQuotaExceeded)
	}
	for _, want := range []string{"10 objects of kind Database", "delete one", "raise the quota"} {
		if !strings.Contains(refused.message, want) {
			t.Errorf("message %q does not say %q", refused.message, want)
		}
	}
	for _, internal := range []string{"db.provider.example", "bindery-objects", "bindery-consumer"} {
		if strings.Contains(refused.message, internal) {
			t.Errorf("message %q names the provider's %q", refused.message, internal)
		}
	}
	if !errors.Is(refused, ErrBlocked) || !errors.Is(refused, errQuotaExceeded) {
		t.Error("a refusal is not ErrBlocked and errQuotaExceeded: it would be reported as SyncFailed, or retried as a name conflict")
	}

	for _, other := range []error{
		apierrors.NewForbidden(gr, "x", errors.New(`User "system:serviceaccount:a:b" cannot create resource "databases"`)),
		apierrors.NewAlreadyExists(gr, "x"),
		fmt.Errorf("connection refused"),
	} {
		if err := asRefusal(other, "Database"); err != other {
			t.Errorf("asRefusal(%v) = %v, want the error itself", other, err)
		}
	}
}

func TestACarriedPlacedConditionIsAnnouncedOnce(t *testing.T) {
	status := func(reason, message string) map[string]any {
		return map[string]any{"conditions": []any{
			map[string]any{"type": "Ready", "status": "False", "reason": "Provisioning", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"},
			map[string]any{"type": PlacedCondition, "status": "False", "reason": reason, "message": message, "lastTransitionTime": "2026-01-01T00:00:00Z"},
		}}
	}
	obj := &unstructured.Unstructured{}
	for _, tc := range []struct {
		name            string
		current, copied map[string]any
		want            string
	}{
		{"carried now", nil, status(ReasonQuotaExceeded, "full"), "Warning QuotaExceeded full"},
		{"carried before", status(ReasonQuotaExceeded, "full"), status(ReasonQuotaExceeded, "full"), ""},
		{"carried with another message", status(ReasonQuotaExceeded, "full"), status(ReasonQuotaExceeded, "fuller"), "Warning QuotaExceeded fuller"},
		{"not carried", nil, map[string]any{"phase": "Ready"}, ""},
	} {
		events := record.NewFakeRecorder(2)
		announceCarried(events, tc.current, tc.copied, obj)
		got := ""
		select {
		case got = <-events.Events:
		default:
		}
		if got != tc.want {
			t.Errorf("%s: event %q, want %q", tc.name, got, tc.want)
		}
	}
}
