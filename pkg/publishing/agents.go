package publishing

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
)

// Agents says which agents are alive, from the presence Leases they renew in the provider cluster.
type Agents interface {
	// Alive reports whether the agent renewed its presence Lease within the Lease's duration.
	Alive(ctx context.Context, agent syncagentv1alpha1.AgentReference) (bool, error)
	// Elder returns a live agent with this agent's name in another namespace whose presence Lease
	// is older than this agent's, if there is one. Two agents with one name write the same marks
	// and manage the same export entries, so the younger one stands back entirely.
	Elder(ctx context.Context) (*syncagentv1alpha1.AgentReference, error)
}

// Reasons of the AgentConflict condition, and events about who holds a PublishedResource.
const (
	ReasonSelectorOverlap    = "SelectorOverlap"
	ReasonDuplicateAgentName = "DuplicateAgentName"
	EventAgentConflict       = "AgentConflict"
	EventAgentTakeover       = "AgentTakeover"
)

// Holds reports whether the PublishedResource's claim (status.agent) names the agent.
func Holds(pr *syncagentv1alpha1.PublishedResource, agent syncagentv1alpha1.AgentReference) bool {
	return pr.Status.Agent != nil && *pr.Status.Agent == agent
}

func (r *Reconciler) self() syncagentv1alpha1.AgentReference {
	return syncagentv1alpha1.AgentReference{Name: r.AgentName, Namespace: r.Namespace}
}

// claim decides whether this agent publishes pr. It holds a PublishedResource nobody holds, or
// whose agent is gone for good (its presence Lease expired); otherwise it records itself as a
// contender and leaves pr alone. elder is an older live agent of the same name, to which this
// one defers everything. It returns whether the agent holds pr now.
func (r *Reconciler) claim(ctx context.Context, pr *syncagentv1alpha1.PublishedResource, elder *syncagentv1alpha1.AgentReference) (bool, error) {
	if elder != nil {
		return false, r.contend(ctx, pr, *elder)
	}
	owner := pr.Status.Agent
	if owner != nil && *owner != r.self() {
		alive, err := r.Agents.Alive(ctx, *owner)
		if err != nil || alive {
			if err != nil {
				// In doubt the claim stands: taking over from a live agent would make both publish.
				log.FromContext(ctx).Error(err, "cannot tell whether the agent that holds the PublishedResource is alive; leaving it to that agent", "holder", *owner)
			}
			return false, r.contend(ctx, pr, *owner)
		}
	}
	return true, r.hold(ctx, pr, owner)
}

// hold records this agent as the one that publishes pr (taking over from previous, if it was
// another agent) and drops contenders that are gone.
func (r *Reconciler) hold(ctx context.Context, pr *syncagentv1alpha1.PublishedResource, previous *syncagentv1alpha1.AgentReference) error {
	self := r.self()
	status := pr.Status.DeepCopy()
	status.Agent = &self
	status.Contenders = slices.DeleteFunc(slices.Clone(status.Contenders), func(c syncagentv1alpha1.AgentContender) bool {
		if c.AgentReference == self {
			return true
		}
		alive, err := r.Agents.Alive(ctx, c.AgentReference)
		return err == nil && !alive
	})
	if err := r.writeAgents(ctx, pr, status); err != nil {
		return err
	}
	if previous != nil && *previous != self && r.Recorder != nil {
		r.Recorder.Event(pr, corev1.EventTypeNormal, EventAgentTakeover, fmt.Sprintf(
			"agent %s took the PublishedResource over from agent %s, whose presence Lease %s expired", agentString(self), agentString(*previous), PresenceLeaseName(previous.Name)))
	}
	return nil
}

// contend records this agent as a contender that leaves pr to deferTo, and lets go of pr if it
// held it. The event is recorded when the entry is new or changed.
func (r *Reconciler) contend(ctx context.Context, pr *syncagentv1alpha1.PublishedResource, deferTo syncagentv1alpha1.AgentReference) error {
	self := r.self()
	entry := syncagentv1alpha1.AgentContender{AgentReference: self, DefersTo: deferTo}
	status := pr.Status.DeepCopy()
	if Holds(pr, self) {
		status.Agent = nil
	}
	known := slices.Contains(status.Contenders, entry)
	status.Contenders = append(slices.DeleteFunc(slices.Clone(status.Contenders), func(c syncagentv1alpha1.AgentContender) bool { return c.AgentReference == self }), entry)
	if err := r.writeAgents(ctx, pr, status); err != nil {
		return err
	}
	if !known && r.Recorder != nil {
		r.Recorder.Event(pr, corev1.EventTypeWarning, EventAgentConflict, contenderMessage(entry))
	}
	return nil
}

// release lets go of a PublishedResource the agent no longer selects: another agent that
// selects it may hold it then, and this one is no contender any more.
func (r *Reconciler) release(ctx context.Context, pr *syncagentv1alpha1.PublishedResource) error {
	self := r.self()
	status := pr.Status.DeepCopy()
	if Holds(pr, self) {
		status.Agent = nil
	}
	status.Contenders = slices.DeleteFunc(slices.Clone(status.Contenders), func(c syncagentv1alpha1.AgentContender) bool { return c.AgentReference == self })
	return r.writeAgents(ctx, pr, status)
}

// writeAgents writes status.agent and status.contenders with the AgentConflict condition that
// follows from them. The optimistic lock makes a claim race safe: of two agents that claim one
// PublishedResource at once, one write fails, and that agent finds the other's claim next time.
func (r *Reconciler) writeAgents(ctx context.Context, pr *syncagentv1alpha1.PublishedResource, status *syncagentv1alpha1.PublishedResourceStatus) error {
	slices.SortFunc(status.Contenders, func(a, b syncagentv1alpha1.AgentContender) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	if len(status.Contenders) == 0 {
		status.Contenders = nil
		meta.RemoveStatusCondition(&status.Conditions, syncagentv1alpha1.ConditionAgentConflict)
	} else {
		meta.SetStatusCondition(&status.Conditions, AgentConflictCondition(status.Contenders, pr.Generation))
	}
	_, err := r.patchStatus(ctx, pr, status)
	return err
}

// AgentConflictCondition says which other agents select the PublishedResource, to whom each
// leaves it, and what to do. It depends only on the contenders (sorted), so that every agent
// that writes it writes the same.
func AgentConflictCondition(contenders []syncagentv1alpha1.AgentContender, generation int64) metav1.Condition {
	reason := ReasonSelectorOverlap
	var messages []string
	for _, c := range contenders {
		if c.Name == c.DefersTo.Name {
			reason = ReasonDuplicateAgentName
		}
		messages = append(messages, contenderMessage(c))
	}
	return metav1.Condition{
		Type: syncagentv1alpha1.ConditionAgentConflict, Status: metav1.ConditionTrue, Reason: reason,
		Message: strings.Join(messages, "; "), ObservedGeneration: generation,
	}
}

func contenderMessage(c syncagentv1alpha1.AgentContender) string {
	if c.Name == c.DefersTo.Name {
		return fmt.Sprintf("agent %s has the name of agent %s, which runs in another namespace, and stands back: agents that share a provider cluster need distinct --agent-name values; rename one, or remove it",
			agentString(c.AgentReference), agentString(c.DefersTo))
	}
	return fmt.Sprintf("agent %s also selects this PublishedResource and leaves it to agent %s: give the agents --published-resource-selector values that do not overlap",
		agentString(c.AgentReference), agentString(c.DefersTo))
}

func agentString(a syncagentv1alpha1.AgentReference) string {
	return a.Name + " in namespace " + a.Namespace
}

// PresenceLeaseName is the Lease, in the agent's namespace, that the agent renews while it runs.
func PresenceLeaseName(agent string) string {
	return "bindery-syncagent-" + agent + "-presence"
}
