package syncagent

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/publishing"
)

// DefaultNamespace is the agent's namespace in the provider cluster unless --namespace says
// otherwise; deploy/syncagent/rbac.yaml grants the agent its Leases there.
const DefaultNamespace = "bindery-system"

// PresenceLabel marks an agent's presence Lease; its value is the agent's name.
const PresenceLabel = "syncagent.bindery.dev/presence"

// DefaultPresenceLeaseDuration is how long an agent counts as alive after it last renewed its
// presence Lease. It is far longer than a restart or a leader failover takes, so that a claim
// moves to another agent only when its agent is gone for good.
const DefaultPresenceLeaseDuration = 5 * time.Minute

// presence renews the agent's presence Lease in its namespace, and reads the presence Leases of
// other agents: a PublishedResource that an agent holds (status.agent) stays with it while its
// Lease is renewed. Every replica of an agent renews the same Lease, so that a leader failover
// does not look like the agent going away. The Lease is never deleted: a rolling update must
// not make the agent's PublishedResources free for others.
type presence struct {
	// client reads and writes Leases directly (no cache): the agent reads other agents' Leases
	// seldom, and a missing permission shows at once instead of as a cache that never syncs.
	client   client.Client
	self     syncagentv1alpha1.AgentReference
	duration time.Duration
}

var _ publishing.Agents = &presence{}

// renew creates or renews the agent's presence Lease (and its namespace, if missing).
func (p *presence) renew(ctx context.Context) error {
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: p.self.Namespace, Name: publishing.PresenceLeaseName(p.self.Name)}}
	err := p.client.Get(ctx, client.ObjectKeyFromObject(lease), lease)
	if apierrors.IsNotFound(err) {
		if err := p.ensureNamespace(ctx); err != nil {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("reading the presence Lease %s/%s: %w", lease.Namespace, lease.Name, err)
	}
	now := metav1.NewMicroTime(time.Now())
	lease.Labels = map[string]string{PresenceLabel: p.self.Name}
	lease.Spec.HolderIdentity = ptr.To(p.self.Namespace + "/" + p.self.Name)
	lease.Spec.LeaseDurationSeconds = ptr.To(int32(p.duration / time.Second))
	lease.Spec.RenewTime = &now
	if lease.Spec.AcquireTime == nil {
		lease.Spec.AcquireTime = &now
	}
	if lease.ResourceVersion == "" {
		err = p.client.Create(ctx, lease)
	} else {
		err = p.client.Update(ctx, lease)
	}
	if err != nil {
		return fmt.Errorf("renewing the presence Lease %s/%s: %w", lease.Namespace, lease.Name, err)
	}
	return nil
}

func (p *presence) ensureNamespace(ctx context.Context) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: p.self.Namespace}}
	if err := p.client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the agent's namespace %s for its presence Lease: %w", ns.Name, err)
	}
	return nil
}

// Start renews the Lease until ctx ends, five times per duration, so that a few failed renewals
// in a row do not make the agent look gone.
func (p *presence) Start(ctx context.Context) error {
	ticker := time.NewTicker(p.duration / 5)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			if err := p.renew(ctx); err != nil && ctx.Err() == nil {
				log.FromContext(ctx).Error(err, "renewing the presence Lease failed; retrying")
			}
		}
	}
}

// NeedLeaderElection is false: standby replicas keep the agent present too.
func (p *presence) NeedLeaderElection() bool { return false }

// Alive reports whether the agent's presence Lease was renewed within its duration. A missing
// Lease means the agent is gone (it creates its Lease before it claims anything).
func (p *presence) Alive(ctx context.Context, agent syncagentv1alpha1.AgentReference) (bool, error) {
	lease := &coordinationv1.Lease{}
	err := p.client.Get(ctx, client.ObjectKey{Namespace: agent.Namespace, Name: publishing.PresenceLeaseName(agent.Name)}, lease)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading the presence Lease of agent %s in namespace %s: %w", agent.Name, agent.Namespace, err)
	}
	return leaseAlive(lease, time.Now()), nil
}

func leaseAlive(lease *coordinationv1.Lease, now time.Time) bool {
	if lease.Spec.RenewTime == nil || lease.Spec.LeaseDurationSeconds == nil {
		return false
	}
	return now.Before(lease.Spec.RenewTime.Add(time.Duration(*lease.Spec.LeaseDurationSeconds) * time.Second))
}

// Elder finds a live agent with this agent's name in another namespace whose presence Lease was
// created first (ties go to the namespace that sorts first): that one keeps working, this one
// stands back. The order never changes while both run, so the two never swap.
func (p *presence) Elder(ctx context.Context) (*syncagentv1alpha1.AgentReference, error) {
	leases := &coordinationv1.LeaseList{}
	if err := p.client.List(ctx, leases, client.MatchingLabels{PresenceLabel: p.self.Name}); err != nil {
		return nil, fmt.Errorf("listing the presence Leases of agents named %s: %w", p.self.Name, err)
	}
	var mine *coordinationv1.Lease
	for i := range leases.Items {
		if l := &leases.Items[i]; l.Namespace == p.self.Namespace && l.Name == publishing.PresenceLeaseName(p.self.Name) {
			mine = l
		}
	}
	now := time.Now()
	for i := range leases.Items {
		l := &leases.Items[i]
		if l == mine || l.Name != publishing.PresenceLeaseName(p.self.Name) || !leaseAlive(l, now) || !olderLease(l, mine) {
			continue
		}
		return &syncagentv1alpha1.AgentReference{Name: p.self.Name, Namespace: l.Namespace}, nil
	}
	return nil, nil
}

// olderLease orders presence Leases by creation, then namespace. Without a Lease of its own
// (someone deleted it; the next renewal brings it back) an agent counts as the youngest.
func olderLease(a, mine *coordinationv1.Lease) bool {
	if mine == nil {
		return true
	}
	if !a.CreationTimestamp.Equal(&mine.CreationTimestamp) {
		return a.CreationTimestamp.Before(&mine.CreationTimestamp)
	}
	return a.Namespace < mine.Namespace
}

// startPresence renews the agent's presence Lease once, so that it exists before the agent holds
// any PublishedResource, and keeps renewing it while mgr runs.
func startPresence(ctx context.Context, opts Options, scheme *runtime.Scheme, mgr manager.Manager) (*presence, error) {
	c, err := client.New(opts.ProviderConfig, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("connecting to the provider cluster: %w", err)
	}
	p := &presence{client: c, self: syncagentv1alpha1.AgentReference{Name: opts.AgentName, Namespace: opts.Namespace}, duration: opts.PresenceLeaseDuration}
	if p.duration <= 0 {
		p.duration = DefaultPresenceLeaseDuration
	}
	if err := p.renew(ctx); err != nil {
		return nil, err
	}
	return p, mgr.Add(p)
}
