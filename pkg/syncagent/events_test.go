package syncagent

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"
)

func TestEventPolicyRecorder(t *testing.T) {
	for _, tc := range []struct {
		policy EventPolicy
		want   []string
	}{
		{"", []string{"Normal Placed placed", "Warning SyncFailed failed", "Normal Synced synced", "Warning ProviderConflict taken"}},
		{AllEvents, []string{"Normal Placed placed", "Warning SyncFailed failed", "Normal Synced synced", "Warning ProviderConflict taken"}},
		{WarningEvents, []string{"Warning SyncFailed failed", "Warning ProviderConflict taken"}},
	} {
		fake := record.NewFakeRecorder(10)
		r := tc.policy.Recorder(fake)
		pod := &corev1.Pod{}
		r.Event(pod, corev1.EventTypeNormal, "Placed", "placed")
		r.Event(pod, corev1.EventTypeWarning, "SyncFailed", "failed")
		r.Eventf(pod, corev1.EventTypeNormal, "Synced", "%s", "synced")
		r.AnnotatedEventf(pod, nil, corev1.EventTypeWarning, "ProviderConflict", "%s", "taken")
		close(fake.Events)
		var got []string
		for e := range fake.Events {
			got = append(got, e)
		}
		if len(got) != len(tc.want) {
			t.Fatalf("policy %q: events %q, want %q", tc.policy, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("policy %q: event %d = %q, want %q", tc.policy, i, got[i], tc.want[i])
			}
		}
	}
}

func TestEventPolicyValidate(t *testing.T) {
	for _, ok := range []EventPolicy{"", AllEvents, WarningEvents} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	if err := EventPolicy("none").Validate(); err == nil {
		t.Error(`"none" was accepted`)
	}
}
