package kubectlbindery

import (
	"bytes"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
)

func TestPrintBindingsTable(t *testing.T) {
	now := time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)
	ready := existing("databases", "https://a.example.com", "databases", "")
	ready.Status = bindv1alpha1.ServiceBindingStatus{
		LastHeartbeatTime:   &metav1.Time{Time: now.Add(-20 * time.Second)},
		CredentialExpiresAt: &metav1.Time{Time: now.Add(45 * time.Minute)},
		Conditions: []metav1.Condition{
			{Type: "Connected", Status: metav1.ConditionTrue, Reason: "Connected"},
			{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Ready"},
		},
	}
	broken := existing("caches", "https://b.example.com", "caches", "")
	broken.Status = bindv1alpha1.ServiceBindingStatus{
		CredentialExpiresAt: &metav1.Time{Time: now.Add(-3 * time.Minute)},
		Conditions: []metav1.Condition{
			{Type: "Connected", Status: metav1.ConditionFalse, Reason: "ProviderUnreachable"},
			{Type: "Ready", Status: metav1.ConditionFalse, Reason: "ProviderUnreachable"},
		},
	}
	fresh := existing("queues", "https://c.example.com", "queues", "")
	list := &bindv1alpha1.ServiceBindingList{Items: []bindv1alpha1.ServiceBinding{*ready, *broken, *fresh}}

	var out bytes.Buffer
	if err := printBindings(&out, list, "table", now); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("want a header and three rows:\n%s", out.String())
	}
	if got := strings.Fields(lines[0]); strings.Join(got, " ") != "NAME SERVICE BACKEND CONNECTED READY REASON HEARTBEAT CREDENTIAL EXPIRES" {
		t.Errorf("header %q", lines[0])
	}
	for i, want := range [][]string{
		{"databases", "https://a.example.com", "True", "True", "-", "20s ago", "in 45m"},
		{"caches", "False", "ProviderUnreachable", "never", "expired 3m ago"},
		{"queues", "Unknown", "Unknown", "never", "-"},
	} {
		row := strings.Join(strings.Fields(lines[i+1]), " ")
		for _, w := range want {
			if !strings.Contains(row, w) {
				t.Errorf("row %q lacks %q", row, w)
			}
		}
	}

	out.Reset()
	if err := printBindings(&out, &bindv1alpha1.ServiceBindingList{}, "table", now); err != nil || !strings.Contains(out.String(), "kubectl bindery bind <backend-url>") {
		t.Errorf("empty: %q, %v", out.String(), err)
	}
	out.Reset()
	if err := printBindings(&out, list, "json", now); err != nil || !strings.Contains(out.String(), `"service": "caches"`) {
		t.Errorf("json: %q, %v", out.String(), err)
	}
}
