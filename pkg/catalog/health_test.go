package catalog

import (
	"strings"
	"testing"
	"time"

	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	conditionsv1alpha1 "github.com/kcp-dev/sdk/apis/third_party/conditions/apis/conditions/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestProblemOf(t *testing.T) {
	now := time.Now()
	secrets := apisv1alpha2.PermissionClaim{GroupResource: apisv1alpha2.GroupResource{Resource: "secrets"}, Verbs: []string{"get"}}
	binding := func(ready corev1.ConditionStatus, since time.Duration, state apisv1alpha2.AcceptablePermissionClaimState) *apisv1alpha2.APIBinding {
		b := &apisv1alpha2.APIBinding{}
		b.Status.Conditions = conditionsv1alpha1.Conditions{{
			Type: conditionsv1alpha1.ReadyCondition, Status: ready, Message: "waiting",
			LastTransitionTime: metav1.NewTime(now.Add(-since)),
		}}
		if state != "" {
			b.Spec.PermissionClaims = []apisv1alpha2.AcceptablePermissionClaim{{
				ScopedPermissionClaim: apisv1alpha2.ScopedPermissionClaim{PermissionClaim: secrets},
				State:                 state,
			}}
		}
		return b
	}
	for name, tc := range map[string]struct {
		binding *apisv1alpha2.APIBinding
		claims  []apisv1alpha2.PermissionClaim
		want    string
	}{
		"healthy":                   {binding(corev1.ConditionTrue, time.Hour, apisv1alpha2.ClaimAccepted), []apisv1alpha2.PermissionClaim{secrets}, ""},
		"unready, within threshold": {binding(corev1.ConditionFalse, time.Minute, ""), nil, ""},
		"unready, past threshold":   {binding(corev1.ConditionFalse, time.Hour, ""), nil, "not been Ready for more than 2m0s: waiting"},
		"claim rejected":            {binding(corev1.ConditionTrue, time.Hour, apisv1alpha2.ClaimRejected), []apisv1alpha2.PermissionClaim{secrets}, "does not accept permission claims the export needs: secrets"},
		"claim not decided":         {binding(corev1.ConditionTrue, time.Hour, ""), []apisv1alpha2.PermissionClaim{secrets}, "secrets"},
	} {
		got := problemOf(tc.binding, tc.claims, 2*time.Minute, now)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: problem %q, want one containing %q", name, got, tc.want)
		}
	}
}
