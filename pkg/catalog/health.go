package catalog

import (
	"fmt"
	"slices"
	"strings"
	"time"

	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	conditionsv1alpha1 "github.com/kcp-dev/sdk/apis/third_party/conditions/apis/conditions/v1alpha1"
	"github.com/kcp-dev/sdk/apis/third_party/conditions/util/conditions"
	corev1 "k8s.io/api/core/v1"
)

// problemOf says what is wrong with a consumer's binding, or "" if nothing is. The text is stable
// (no timestamps, sorted lists): a text that changed with every recount would be a new event
// each time.
func problemOf(binding *apisv1alpha2.APIBinding, claims []apisv1alpha2.PermissionClaim, unreadyAfter time.Duration, now time.Time) string {
	var missing, fewerVerbs []string
	for _, claim := range claims {
		accepted, ok := acceptedClaim(binding, claim)
		if !ok {
			missing = append(missing, claimName(claim.Group, claim.Resource))
			continue
		}
		if lacking := missingVerbs(accepted.Verbs, claim.Verbs); len(lacking) > 0 {
			fewerVerbs = append(fewerVerbs, fmt.Sprintf("%s (missing %s)", claimName(claim.Group, claim.Resource), strings.Join(lacking, ", ")))
		}
	}
	var problems []string
	if len(missing) > 0 {
		problems = append(problems, "the binding does not accept permission claims the export needs: "+strings.Join(missing, ", "))
	}
	if len(fewerVerbs) > 0 {
		problems = append(problems, "the binding accepts permission claims without verbs the export needs: "+strings.Join(fewerVerbs, ", "))
	}
	if len(problems) > 0 {
		return strings.Join(problems, "; ")
	}
	ready := conditions.Get(binding, conditionsv1alpha1.ReadyCondition)
	if ready != nil && ready.Status != corev1.ConditionTrue && now.Sub(ready.LastTransitionTime.Time) > unreadyAfter {
		return fmt.Sprintf("the binding has not been Ready for more than %s: %s", unreadyAfter, ready.Message)
	}
	return ""
}

// acceptedClaim returns the binding's accepted claim for the export's claim (same group, resource
// and identity hash).
func acceptedClaim(binding *apisv1alpha2.APIBinding, claim apisv1alpha2.PermissionClaim) (apisv1alpha2.AcceptablePermissionClaim, bool) {
	for _, c := range binding.Spec.PermissionClaims {
		if c.EqualGRI(claim) && c.State == apisv1alpha2.ClaimAccepted {
			return c, true
		}
	}
	return apisv1alpha2.AcceptablePermissionClaim{}, false
}

// missingVerbs returns the verbs the export claims that the binding does not accept, sorted. "*"
// on either side matches everything, as in kcp's own comparison (the PermissionClaimsMismatch
// reason on the binding). Unlike kcp, accepting more verbs than claimed is not a problem here: the
// export gets what it needs.
func missingVerbs(accepted, claimed []string) []string {
	if slices.Contains(accepted, "*") || slices.Contains(claimed, "*") {
		return nil
	}
	var missing []string
	for _, verb := range claimed {
		if !slices.Contains(accepted, verb) && !slices.Contains(missing, verb) {
			missing = append(missing, verb)
		}
	}
	slices.Sort(missing)
	return missing
}

func claimName(group, resource string) string {
	if group == "" {
		return resource
	}
	return resource + "." + group
}

// representative picks the binding that describes a workspace with several bindings to the same
// export: a Ready binding without a problem first, then one without a problem, then any; ties go
// to the first name. problems[i] is the problem of bindings[i].
func representative(bindings []apisv1alpha2.APIBinding, problems []string) int {
	rank := func(i int) int {
		switch {
		case problems[i] == "" && conditions.IsTrue(&bindings[i], conditionsv1alpha1.ReadyCondition):
			return 0
		case problems[i] == "":
			return 1
		default:
			return 2
		}
	}
	best := -1
	for i := range bindings {
		if best < 0 || rank(i) < rank(best) || (rank(i) == rank(best) && bindings[i].Name < bindings[best].Name) {
			best = i
		}
	}
	return best
}

// newProblems compares the problems found in this recount (binding key -> problem, "" for none)
// with those reported before and returns the keys whose problem is new or changed, sorted, and the
// record to keep: only current bindings with a problem, so that bindings that are gone or healthy
// are forgotten.
func newProblems(reported, current map[string]string) (toReport []string, keep map[string]string) {
	keep = map[string]string{}
	for key, problem := range current {
		if problem == "" {
			continue
		}
		keep[key] = problem
		if reported[key] != problem {
			toReport = append(toReport, key)
		}
	}
	slices.Sort(toReport)
	return toReport, keep
}
