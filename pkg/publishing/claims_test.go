package publishing

import (
	"strings"
	"testing"
	"time"

	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
)

const otherHash = "0000000000000000000000000000000000000000000000000000000000000001"

// related is a consumer-origin related entry for resource in group, with an identity hash.
func related(group, resource, hash string) syncagentv1alpha1.RelatedResource {
	return syncagentv1alpha1.RelatedResource{
		Identifier: resource, Origin: syncagentv1alpha1.OriginConsumer, Group: group, Version: "v1", Resource: resource, IdentityHash: hash,
		Object: syncagentv1alpha1.RelatedObjectSelector{Reference: &syncagentv1alpha1.ReferencePath{Path: "spec.ref"}},
	}
}

func TestValidateClaims(t *testing.T) {
	renamed := related("internal.certs.example.com", "tlscertificates", "")
	renamed.Projection = &syncagentv1alpha1.RelatedProjection{Group: "certs.example.com", Resource: "certificates"}
	badResource := related("", "Secrets", "")
	badProjection := related("", "secrets", "")
	badProjection.Projection = &syncagentv1alpha1.RelatedProjection{Resource: "s"}
	for _, tc := range []struct {
		name    string
		related []syncagentv1alpha1.RelatedResource
		want    []string // each a substring of the errors; none means valid
	}{
		{name: "built-in resources need no identity hash", related: []syncagentv1alpha1.RelatedResource{
			related("", "secrets", ""), related("", "configmaps", ""), related("rbac.authorization.k8s.io", "roles", ""),
		}},
		{name: "kcp's own group needs none", related: []syncagentv1alpha1.RelatedResource{related("apis.kcp.io", "apibindings", "")}},
		{name: "an exported resource with its identity hash", related: []syncagentv1alpha1.RelatedResource{related("certs.example.com", "certificates", testHash)}},
		{name: "an exported resource without identity hash",
			related: []syncagentv1alpha1.RelatedResource{related("certs.example.com", "certificates", "")},
			want:    []string{"spec.related[0].identityHash: Required value: certificates.certs.example.com is not a built-in resource of kcp", "status.identityHash"}},
		{name: "a core resource that kcp does not serve to exports",
			related: []syncagentv1alpha1.RelatedResource{related("", "pods", "")},
			want:    []string{"spec.related[0].identityHash: Required value: pods is not a built-in resource"}},
		{name: "the projection names the claimed resource",
			related: []syncagentv1alpha1.RelatedResource{related("", "secrets", ""), renamed},
			want:    []string{"spec.related[1].identityHash", "certificates.certs.example.com"}},
		{name: "an identity hash of the wrong shape",
			related: []syncagentv1alpha1.RelatedResource{related("certs.example.com", "certificates", "abc123")},
			want:    []string{`spec.related[0].identityHash: Invalid value: "abc123": an identity hash is 64 lowercase hexadecimal characters`}},
		{name: "a resource kcp's claim pattern refuses",
			related: []syncagentv1alpha1.RelatedResource{badResource},
			want:    []string{`spec.related[0].resource: Invalid value: "Secrets"`}},
		{name: "a projected resource kcp's claim pattern refuses",
			related: []syncagentv1alpha1.RelatedResource{badProjection},
			want:    []string{`spec.related[0].projection.resource: Invalid value: "s"`}},
		{name: "one resource with two identity hashes",
			related: []syncagentv1alpha1.RelatedResource{related("certs.example.com", "certificates", testHash), related("certs.example.com", "certificates", otherHash)},
			want:    []string{"spec.related[1].identityHash", "one claim per group and resource"}},
		{name: "the sync's own events claim with an identity hash",
			related: []syncagentv1alpha1.RelatedResource{related("", "events", testHash)},
			want:    []string{"spec.related[0].identityHash", `another claim on events has identity hash ""`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := ValidateClaims(syncagentv1alpha1.PublishedResourceSpec{Related: tc.related})
			if len(tc.want) == 0 {
				if len(errs) > 0 {
					t.Fatalf("unexpected errors: %v", errs)
				}
				return
			}
			got := errs.ToAggregate()
			if got == nil {
				t.Fatalf("no errors, want %q", tc.want)
			}
			for _, want := range tc.want {
				if !strings.Contains(got.Error(), want) {
					t.Errorf("errors %q do not contain %q", got, want)
				}
			}
		})
	}
}

func TestValidateClaimsWithoutSynchronization(t *testing.T) {
	disabled := false
	spec := syncagentv1alpha1.PublishedResourceSpec{
		Related:         []syncagentv1alpha1.RelatedResource{related("certs.example.com", "certificates", "")},
		Synchronization: &syncagentv1alpha1.Synchronization{Enabled: &disabled},
	}
	if errs := ValidateClaims(spec); len(errs) > 0 {
		t.Fatalf("a PublishedResource without synchronization claims nothing, yet: %v", errs)
	}
}

// TestDesiredClaimsLeaveOutRefusedOnes: a PublishedResource that turned invalid keeps its last
// schema in the export, but never takes a claim kcp refuses there.
func TestDesiredClaimsLeaveOutRefusedOnes(t *testing.T) {
	pr := prWith("bad", time.Now(), related("", "secrets", ""), related("certs.example.com", "certificates", ""))
	for _, c := range DesiredClaims([]syncagentv1alpha1.PublishedResource{pr}) {
		if c.Resource == "certificates" {
			t.Fatalf("claim without identity hash for certificates: %+v", c)
		}
	}
	if got := len(DesiredClaims([]syncagentv1alpha1.PublishedResource{pr})); got != 3 {
		t.Fatalf("%d claims, want secrets, events and namespaces", got)
	}
}

func prWith(name string, created time.Time, rel ...syncagentv1alpha1.RelatedResource) syncagentv1alpha1.PublishedResource {
	return syncagentv1alpha1.PublishedResource{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created)},
		Spec:       syncagentv1alpha1.PublishedResourceSpec{Related: rel},
	}
}

func TestClaimClashes(t *testing.T) {
	now := time.Now()
	certs := func(hash string) syncagentv1alpha1.RelatedResource {
		return related("certs.example.com", "certificates", hash)
	}
	older, newer := prWith("older", now.Add(-time.Hour), certs(testHash)), prWith("newer", now, related("", "secrets", ""), certs(otherHash))
	inExport := func(hash string) apisv1alpha2.PermissionClaim {
		return apisv1alpha2.PermissionClaim{GroupResource: apisv1alpha2.GroupResource{Group: "certs.example.com", Resource: "certificates"}, IdentityHash: hash, Verbs: claimVerbs}
	}
	for _, tc := range []struct {
		name     string
		current  []apisv1alpha2.PermissionClaim
		previous []string
		prs      []syncagentv1alpha1.PublishedResource
		want     map[string]string // PublishedResource -> substring of its error
	}{
		{name: "the same hash is one claim", prs: []syncagentv1alpha1.PublishedResource{older, prWith("same", now, certs(testHash))}},
		{name: "neither in the export: the older keeps it", prs: []syncagentv1alpha1.PublishedResource{newer, older},
			want: map[string]string{"newer": `spec.related[1].identityHash: Invalid value: "` + otherHash + `": PublishedResource older (spec.related[0]) already claims certificates.certs.example.com`}},
		{name: "the one in the export keeps it, however young",
			current: []apisv1alpha2.PermissionClaim{inExport(otherHash)}, previous: []string{claimKey(inExport(otherHash))},
			prs:  []syncagentv1alpha1.PublishedResource{older, newer},
			want: map[string]string{"older": "PublishedResource newer (spec.related[1]) already claims"}},
		{name: "a claim the agent did not add stays",
			current: []apisv1alpha2.PermissionClaim{inExport(otherHash)},
			prs:     []syncagentv1alpha1.PublishedResource{older},
			want:    map[string]string{"older": `a claim in the APIExport that this agent did not add already claims certificates.certs.example.com with identity hash "` + otherHash + `"`}},
		{name: "the sync's own claims stay", prs: []syncagentv1alpha1.PublishedResource{prWith("events", now, related("", "events", testHash))},
			want: map[string]string{"events": "the object sync's own claim already claims events"}},
		{name: "two entries of one PublishedResource", prs: []syncagentv1alpha1.PublishedResource{prWith("twice", now, certs(testHash), certs(otherHash))},
			want: map[string]string{"twice": "spec.related[1].identityHash"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clashes := ClaimClashes(tc.current, sets.New(tc.previous...), tc.prs)
			if len(clashes) != len(tc.want) {
				t.Fatalf("clashes %v, want %v", clashes, tc.want)
			}
			for name, want := range tc.want {
				if clashes[name] == nil || !strings.Contains(clashes[name].Error(), want) {
					t.Errorf("clash of %s = %v, want one containing %q", name, clashes[name], want)
				}
			}
		})
	}
}
