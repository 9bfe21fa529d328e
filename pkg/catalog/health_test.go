package catalog

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	conditionsv1alpha1 "github.com/kcp-dev/sdk/apis/third_party/conditions/apis/conditions/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
)

func claim(resource string, verbs ...string) apisv1alpha2.PermissionClaim {
	return apisv1alpha2.PermissionClaim{GroupResource: apisv1alpha2.GroupResource{Resource: resource}, Verbs: verbs}
}

// binding returns an APIBinding named name whose Ready condition has had status ready for since,
// with the given claims in the given state.
func binding(name string, ready corev1.ConditionStatus, since time.Duration, state apisv1alpha2.AcceptablePermissionClaimState, claims ...apisv1alpha2.PermissionClaim) *apisv1alpha2.APIBinding {
	b := &apisv1alpha2.APIBinding{ObjectMeta: metav1.ObjectMeta{Name: name}}
	b.Status.Conditions = conditionsv1alpha1.Conditions{{
		Type: conditionsv1alpha1.ReadyCondition, Status: ready, Message: "waiting",
		LastTransitionTime: metav1.NewTime(time.Now().Add(-since)),
	}}
	for _, c := range claims {
		b.Spec.PermissionClaims = append(b.Spec.PermissionClaims, apisv1alpha2.AcceptablePermissionClaim{
			ScopedPermissionClaim: apisv1alpha2.ScopedPermissionClaim{PermissionClaim: c},
			State:                 state,
		})
	}
	return b
}

func TestProblemOf(t *testing.T) {
	secrets := claim("secrets", "get", "list", "watch")
	configMaps := claim("configmaps", "get")
	ready, unready := corev1.ConditionTrue, corev1.ConditionFalse
	for name, tc := range map[string]struct {
		binding *apisv1alpha2.APIBinding
		claims  []apisv1alpha2.PermissionClaim
		want    string // "" for no problem; otherwise the exact problem
	}{
		"healthy":                   {binding("b", ready, time.Hour, apisv1alpha2.ClaimAccepted, secrets), []apisv1alpha2.PermissionClaim{secrets}, ""},
		"no claims":                 {binding("b", ready, time.Hour, ""), nil, ""},
		"unready, within threshold": {binding("b", unready, time.Minute, ""), nil, ""},
		"unready, past threshold": {binding("b", unready, time.Hour, ""), nil,
			"the binding has not been Ready for more than 2m0s: waiting"},
		"claim rejected": {binding("b", ready, time.Hour, apisv1alpha2.ClaimRejected, secrets), []apisv1alpha2.PermissionClaim{secrets},
			"the binding does not accept permission claims the export needs: secrets"},
		"claim not decided": {binding("b", ready, time.Hour, ""), []apisv1alpha2.PermissionClaim{secrets},
			"the binding does not accept permission claims the export needs: secrets"},
		"fewer verbs accepted": {binding("b", ready, time.Hour, apisv1alpha2.ClaimAccepted, claim("secrets", "get")), []apisv1alpha2.PermissionClaim{secrets},
			"the binding accepts permission claims without verbs the export needs: secrets (missing list, watch)"},
		"more verbs accepted": {binding("b", ready, time.Hour, apisv1alpha2.ClaimAccepted, claim("secrets", "get", "list", "watch", "delete")), []apisv1alpha2.PermissionClaim{secrets}, ""},
		"wildcard accepted":   {binding("b", ready, time.Hour, apisv1alpha2.ClaimAccepted, claim("secrets", "*")), []apisv1alpha2.PermissionClaim{secrets}, ""},
		"wildcard claimed":    {binding("b", ready, time.Hour, apisv1alpha2.ClaimAccepted, claim("secrets", "get")), []apisv1alpha2.PermissionClaim{claim("secrets", "*")}, ""},
		"other identity hash": {binding("b", ready, time.Hour, apisv1alpha2.ClaimAccepted, secrets),
			[]apisv1alpha2.PermissionClaim{{GroupResource: secrets.GroupResource, Verbs: secrets.Verbs, IdentityHash: "abc"}},
			"the binding does not accept permission claims the export needs: secrets"},
		"missing and fewer verbs, claims win over readiness": {
			binding("b", unready, time.Hour, apisv1alpha2.ClaimAccepted, claim("secrets", "watch", "get")),
			[]apisv1alpha2.PermissionClaim{configMaps, secrets},
			"the binding does not accept permission claims the export needs: configmaps; " +
				"the binding accepts permission claims without verbs the export needs: secrets (missing list)"},
	} {
		if got := problemOf(tc.binding, tc.claims, 2*time.Minute, time.Now()); got != tc.want {
			t.Errorf("%s: problem\n  %q\nwant\n  %q", name, got, tc.want)
		}
	}
}

func TestRepresentative(t *testing.T) {
	ready, unready := corev1.ConditionTrue, corev1.ConditionFalse
	bindings := func(bs ...*apisv1alpha2.APIBinding) []apisv1alpha2.APIBinding {
		out := make([]apisv1alpha2.APIBinding, 0, len(bs))
		for _, b := range bs {
			out = append(out, *b)
		}
		return out
	}
	for name, tc := range map[string]struct {
		bindings []apisv1alpha2.APIBinding
		problems []string
		want     string
	}{
		"one":                           {bindings(binding("a", unready, 0, "")), []string{"bad"}, "a"},
		"healthy wins over unhealthy":   {bindings(binding("a", ready, 0, ""), binding("b", ready, 0, "")), []string{"bad", ""}, "b"},
		"ready wins over not yet":       {bindings(binding("a", unready, 0, ""), binding("b", ready, 0, "")), []string{"", ""}, "b"},
		"ties go to the first name":     {bindings(binding("c", ready, 0, ""), binding("b", ready, 0, "")), []string{"", ""}, "b"},
		"all unhealthy: the first name": {bindings(binding("c", ready, 0, ""), binding("b", ready, 0, "")), []string{"x", "y"}, "b"},
	} {
		if got := tc.bindings[representative(tc.bindings, tc.problems)].Name; got != tc.want {
			t.Errorf("%s: representative %s, want %s", name, got, tc.want)
		}
	}
}

func TestNewProblems(t *testing.T) {
	reported := map[string]string{"ws/a": "claims", "ws/b": "claims", "ws/gone": "claims"}
	current := map[string]string{"ws/a": "claims", "ws/b": "not ready", "ws/c": "claims", "ws/healthy": ""}
	toReport, keep := newProblems(reported, current)
	if want := []string{"ws/b", "ws/c"}; !slices.Equal(toReport, want) {
		t.Errorf("to report %v, want %v (new or changed problems only)", toReport, want)
	}
	if want := []string{"ws/a", "ws/b", "ws/c"}; !slices.Equal(slices.Sorted(maps.Keys(keep)), want) {
		t.Errorf("kept %v, want %v (gone and healthy bindings forgotten)", keep, want)
	}
}

// eventCluster is a cluster.Cluster that only records events.
type eventCluster struct {
	cluster.Cluster
	recorder *record.FakeRecorder
}

func (c eventCluster) GetEventRecorderFor(string) record.EventRecorder { return c.recorder }

// TestReportForgets checks that an event is recorded once per new problem and that the record of
// reported problems does not grow with bindings that are gone, healthy, or whose export went.
func TestReportForgets(t *testing.T) {
	r := &Reconciler{}
	cl := eventCluster{recorder: record.NewFakeRecorder(10)}
	target := reportTarget{cluster: cl, binding: binding("a", corev1.ConditionTrue, 0, "")}
	events := func() []string {
		var got []string
		for {
			select {
			case e := <-cl.recorder.Events:
				got = append(got, e)
			default:
				return got
			}
		}
	}
	targets := map[string]reportTarget{"ws/a": target, "ws/b": target}

	r.report("p/export", map[string]string{"ws/a": "claims", "ws/b": ""}, targets)
	r.report("p/export", map[string]string{"ws/a": "claims", "ws/b": ""}, targets)
	if got := events(); len(got) != 1 || !strings.Contains(got[0], "BindingUnhealthy claims") {
		t.Fatalf("events %q, want one BindingUnhealthy", got)
	}
	if got := len(r.reported["p/export"]); got != 1 {
		t.Errorf("record holds %d bindings, want 1 (only the unhealthy one)", got)
	}
	r.report("p/export", map[string]string{}, targets) // the binding was deleted
	if _, ok := r.reported["p/export"]; ok || len(r.reported) != 0 {
		t.Errorf("record %v, want empty once no binding has a problem", r.reported)
	}
	r.report("p/export", map[string]string{"ws/a": "claims"}, targets)
	if got := events(); len(got) != 1 {
		t.Errorf("events %q, want one again: the problem is new after the binding was gone", got)
	}
	r.forget("p/export")
	if len(r.reported) != 0 {
		t.Errorf("record %v after forget, want empty", r.reported)
	}
}
