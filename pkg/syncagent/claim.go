package syncagent

import (
	"context"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/publishing"
)

// standBack stops the sync of a PublishedResource that this agent does not hold (status.agent,
// which the publishing controller records): the agent that holds it syncs its objects, and one
// that nobody holds yet waits for its claim. It reports whether the reconcile ends here. The
// agent's finalizer goes, unless the holder has the same name (and so the same finalizer); the
// consumers' objects keep theirs, as when another agent takes a PublishedResource over.
func (c *syncController) standBack(ctx context.Context, pr *syncagentv1alpha1.PublishedResource) (bool, error) {
	if publishing.Holds(pr, syncagentv1alpha1.AgentReference{Name: c.agent, Namespace: c.namespace}) {
		return false, nil
	}
	c.units.stop(pr.Name)
	if holder := pr.Status.Agent; holder != nil && holder.Name != c.agent {
		return true, c.removeFinalizer(ctx, pr)
	}
	return true, nil
}
