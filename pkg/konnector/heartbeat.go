package konnector

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bindery-dev/bindery/pkg/consumers"
)

// DefaultHeartbeatInterval is how often the konnector renews a binding's heartbeat Lease.
const DefaultHeartbeatInterval = 20 * time.Second

// minLeaseDuration is the Lease's duration at the default interval: three missed renewals.
const minLeaseDuration = 60 * time.Second

// heartbeatResolution: status.lastHeartbeatTime follows the Lease in steps of this size, so that
// a heartbeat every few seconds does not cost a status write each time (the backend shows the
// Consumer's heartbeat in the same steps).
const heartbeatResolution = time.Minute

// heartbeat is what the last renewal of the Lease found.
type heartbeat struct {
	// last is the last successful renewal.
	last time.Time
	// err is why the latest renewal failed; nil when it succeeded.
	err error
}

// lastHeartbeat reports the connection's heartbeat.
func (c *connection) lastHeartbeat() heartbeat {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.beat
}

// heartbeatLoop renews the Lease at once and then every interval until the connection stops.
// The binding comes back to its reconciler when a renewal starts or stops failing, so that the
// Connected condition says so.
func (c *connection) heartbeatLoop(o connectionOptions) {
	interval := o.heartbeatInterval
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		err := c.renewLease(c.ctx, o.holder, leaseDuration(interval))
		if c.ctx.Err() != nil {
			return
		}
		c.mu.Lock()
		changed := !c.beatReported || (err == nil) != (c.beat.err == nil)
		c.beat.err, c.beatReported = err, true
		if err == nil {
			c.beat.last = time.Now()
		}
		c.mu.Unlock()
		if changed {
			if err != nil {
				c.log.Info("renewing the heartbeat Lease fails; the provider will show this cluster as disconnected", "error", err.Error())
			}
			o.notify(c.binding)
		}
		select {
		case <-c.ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// leaseDuration is how long the Lease says the konnector is alive after a renewal: three
// intervals, at least a minute.
func leaseDuration(interval time.Duration) int32 {
	return int32(max(3*interval, minLeaseDuration) / time.Second)
}

// renewLease creates the heartbeat Lease in the Consumer's namespace, or renews it. Two bindings
// of one Consumer (two Services bound by the same user into this cluster) share the Lease; a
// conflict means the other one renewed it a moment ago, which is as good.
func (c *connection) renewLease(ctx context.Context, holder string, durationSeconds int32) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	now := metav1.NewMicroTime(time.Now())
	lease := &coordinationv1.Lease{}
	err := c.direct.Get(ctx, client.ObjectKey{Namespace: c.namespace, Name: consumers.LeaseName}, lease)
	if apierrors.IsNotFound(err) {
		lease = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: c.namespace, Name: consumers.LeaseName},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity: ptr.To(holder), LeaseDurationSeconds: ptr.To(durationSeconds), AcquireTime: &now, RenewTime: &now,
			},
		}
		err = c.direct.Create(ctx, lease)
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return leaseError(err)
	}
	if err != nil {
		return leaseError(err)
	}
	lease.Spec.HolderIdentity, lease.Spec.LeaseDurationSeconds, lease.Spec.RenewTime = ptr.To(holder), ptr.To(durationSeconds), &now
	if err := c.direct.Update(ctx, lease); err != nil && !apierrors.IsConflict(err) {
		return leaseError(err)
	}
	return nil
}

func leaseError(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("renewing Lease %s: %w", consumers.LeaseName, err)
}
