package publishing

import (
	"strings"
	"testing"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
)

func contender(name, namespace, deferName, deferNamespace string) syncagentv1alpha1.AgentContender {
	return syncagentv1alpha1.AgentContender{
		AgentReference: syncagentv1alpha1.AgentReference{Name: name, Namespace: namespace},
		DefersTo:       syncagentv1alpha1.AgentReference{Name: deferName, Namespace: deferNamespace},
	}
}

func TestAgentConflictCondition(t *testing.T) {
	overlap := AgentConflictCondition([]syncagentv1alpha1.AgentContender{contender("b", "ns", "a", "ns")}, 4)
	if overlap.Reason != ReasonSelectorOverlap || overlap.ObservedGeneration != 4 ||
		!strings.Contains(overlap.Message, "agent b in namespace ns also selects this PublishedResource and leaves it to agent a in namespace ns") ||
		!strings.Contains(overlap.Message, "--published-resource-selector") {
		t.Errorf("selector overlap: %+v", overlap)
	}
	// The same name anywhere among the contenders is the graver problem, and names the fix.
	both := AgentConflictCondition([]syncagentv1alpha1.AgentContender{contender("b", "ns", "a", "ns"), contender("a", "other", "a", "ns")}, 1)
	if both.Reason != ReasonDuplicateAgentName || !strings.Contains(both.Message, "agent a in namespace other has the name of agent a in namespace ns") ||
		!strings.Contains(both.Message, "--agent-name") || !strings.Contains(both.Message, "agent b in namespace ns also selects") {
		t.Errorf("duplicate name: %+v", both)
	}
}
