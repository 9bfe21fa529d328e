package syncagent

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestLeaseAlive(t *testing.T) {
	now := time.Now()
	lease := func(renewed time.Duration, seconds int32) *coordinationv1.Lease {
		renew := metav1.NewMicroTime(now.Add(-renewed))
		return &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{RenewTime: &renew, LeaseDurationSeconds: ptr.To(seconds)}}
	}
	if !leaseAlive(lease(4*time.Minute, 300), now) {
		t.Error("a Lease renewed within its duration is alive")
	}
	if leaseAlive(lease(6*time.Minute, 300), now) {
		t.Error("a Lease not renewed for longer than its duration is gone")
	}
	if leaseAlive(&coordinationv1.Lease{}, now) {
		t.Error("a Lease never renewed is gone")
	}
}

func TestOlderLease(t *testing.T) {
	at := func(namespace string, created time.Time) *coordinationv1.Lease {
		return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, CreationTimestamp: metav1.NewTime(created)}}
	}
	now := time.Now().Truncate(time.Second)
	if !olderLease(at("b", now.Add(-time.Hour)), at("a", now)) || olderLease(at("a", now), at("b", now.Add(-time.Hour))) {
		t.Error("the Lease created first is the elder")
	}
	if !olderLease(at("a", now), at("b", now)) || olderLease(at("b", now), at("a", now)) {
		t.Error("of two Leases created in the same second, the namespace that sorts first is the elder")
	}
	if !olderLease(at("a", now), nil) {
		t.Error("an agent without a Lease of its own is the youngest")
	}
}
