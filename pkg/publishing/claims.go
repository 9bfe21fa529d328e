package publishing

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
)

// ReasonInvalidClaim: a related resource's permission claim is one that kcp refuses (so that the
// whole APIExport update would fail) or that can never match an APIExport.
const ReasonInvalidClaim = "InvalidClaim"

// builtInClaimable are the resources, as group/resource, that kcp serves in an APIExport's virtual
// workspace without an APIExport of their own (kcp v0.31.2,
// pkg/virtual/apiexport/schemas/builtin). kcp's APIExport admission refuses a claim without
// identityHash on any other resource, except in its own group apis.kcp.io.
var builtInClaimable = sets.New(
	"/namespaces", "/configmaps", "/events", "/resourcequotas", "/secrets", "/serviceaccounts",
	"rbac.authorization.k8s.io/clusterroles", "rbac.authorization.k8s.io/clusterrolebindings",
	"rbac.authorization.k8s.io/roles", "rbac.authorization.k8s.io/rolebindings",
	"certificates.k8s.io/certificatesigningrequests", "coordination.k8s.io/leases",
	"admissionregistration.k8s.io/mutatingwebhookconfigurations",
	"admissionregistration.k8s.io/validatingwebhookconfigurations",
	"admissionregistration.k8s.io/validatingadmissionpolicies",
	"admissionregistration.k8s.io/validatingadmissionpolicybindings",
	"events.k8s.io/events", "apiextensions.k8s.io/customresourcedefinitions", "core.kcp.io/logicalclusters",
	"authorization.k8s.io/subjectaccessreviews", "authorization.k8s.io/localsubjectaccessreviews",
)

// kcpGroup is kcp's own API group, whose resources kcp lets an export claim without identityHash.
const kcpGroup = "apis.kcp.io"

// The patterns of kcp's APIExport CRD (v1alpha2 spec.permissionClaims[].group and .resource), and
// the shape of an identity hash: kcp sets an APIExport's status.identityHash to the hex SHA-256 of
// its identity key. kcp accepts any string there, but a claim with another one never matches.
var (
	claimGroupPattern    = regexp.MustCompile(`^(|[a-z0-9]([-a-z0-9]*[a-z0-9](\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?)$`)
	claimResourcePattern = regexp.MustCompile(`^[a-z][-a-z0-9]*[a-z0-9]$`)
	identityHashPattern  = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// claimVerbs are the verbs of the claim on a related resource.
var claimVerbs = []string{"create", "delete", "get", "list", "patch", "update", "watch"}

// syncClaims are the claims every PublishedResource with synchronization needs: events on the
// consumers' objects, and their namespaces.
var syncClaims = []apisv1alpha2.PermissionClaim{
	{GroupResource: apisv1alpha2.GroupResource{Resource: "events"}, Verbs: []string{"create", "patch", "update"}},
	{GroupResource: apisv1alpha2.GroupResource{Resource: "namespaces"}, Verbs: []string{"create", "get", "list", "watch"}},
}

// relatedClaim is the permission claim of spec.related[index].
type relatedClaim struct {
	index int
	claim apisv1alpha2.PermissionClaim
}

// RelatedClaim is the permission claim for a related resource, as kcp serves it.
func RelatedClaim(rel syncagentv1alpha1.RelatedResource) apisv1alpha2.PermissionClaim {
	consumer := RelatedConsumerResource(rel)
	return apisv1alpha2.PermissionClaim{
		GroupResource: apisv1alpha2.GroupResource{Group: consumer.Group, Resource: consumer.Resource},
		IdentityHash:  rel.IdentityHash,
		Verbs:         claimVerbs,
	}
}

// ValidateClaims finds what kcp would refuse in the permission claims of one PublishedResource's
// related resources (a refused claim fails the whole APIExport update, for every PublishedResource),
// and identity hashes that cannot match any APIExport. A PublishedResource without
// synchronization claims nothing, so it has nothing to check. Every error names its field and says
// how to fix it.
func ValidateClaims(spec syncagentv1alpha1.PublishedResourceSpec) field.ErrorList {
	if !SynchronizationEnabled(spec) {
		return nil
	}
	root := field.NewPath("spec", "related")
	var errs field.ErrorList
	for i, rel := range spec.Related {
		errs = append(errs, validateClaim(root.Index(i), rel)...)
	}
	if len(errs) > 0 {
		return errs
	}
	// kcp keeps one claim per group and resource: the agent's own, and one per related resource.
	seen := map[apisv1alpha2.GroupResource]string{}
	for _, c := range syncClaims {
		seen[c.GroupResource] = c.IdentityHash
	}
	for i, rel := range spec.Related {
		c := RelatedClaim(rel)
		if hash, ok := seen[c.GroupResource]; ok && hash != c.IdentityHash {
			errs = append(errs, field.Invalid(root.Index(i).Child("identityHash"), c.IdentityHash, fmt.Sprintf(
				"another claim on %s has identity hash %q, and kcp allows one claim per group and resource; give every entry for %s the same identityHash (the events and namespaces claims of the sync have none)",
				claimName(c), hash, claimName(c))))
		}
		seen[c.GroupResource] = c.IdentityHash
	}
	return errs
}

// validateClaim checks one related resource's claim on its own.
func validateClaim(path *field.Path, rel syncagentv1alpha1.RelatedResource) field.ErrorList {
	c := RelatedClaim(rel)
	groupField, resourceField := path.Child("group"), path.Child("resource")
	if p := rel.Projection; p != nil && p.Group != "" {
		groupField = path.Child("projection", "group")
	}
	if p := rel.Projection; p != nil && p.Resource != "" {
		resourceField = path.Child("projection", "resource")
	}
	var errs field.ErrorList
	if !claimGroupPattern.MatchString(c.Group) {
		errs = append(errs, field.Invalid(groupField, c.Group, "kcp claims only API groups that are DNS subdomains (lowercase), or \"\" for the core group"))
	}
	if !claimResourcePattern.MatchString(c.Resource) {
		errs = append(errs, field.Invalid(resourceField, c.Resource, "kcp claims only resources that are lowercase plurals of letters, digits and '-' (e.g. secrets)"))
	}
	hashField := path.Child("identityHash")
	switch {
	case c.IdentityHash == "" && c.Group != kcpGroup && !builtInClaimable.Has(c.Group+"/"+c.Resource):
		errs = append(errs, field.Required(hashField, fmt.Sprintf(
			"%s is not a built-in resource of kcp, and kcp refuses a claim on it without the identity hash of the APIExport that serves it; set identityHash to that APIExport's status.identityHash (or fix group, resource or projection if they are wrong)",
			claimName(c))))
	case c.IdentityHash != "" && !identityHashPattern.MatchString(c.IdentityHash):
		errs = append(errs, field.Invalid(hashField, c.IdentityHash,
			"an identity hash is 64 lowercase hexadecimal characters (an APIExport's status.identityHash); copy it from the APIExport that serves the resource"))
	}
	return errs
}

// claimName is a claim's resource as resource.group, or resource for the core group.
func claimName(c apisv1alpha2.PermissionClaim) string {
	if c.Group == "" {
		return c.Resource
	}
	return c.Resource + "." + c.Group
}

// validRelatedClaims are the claims of a PublishedResource's related resources that pass
// validateClaim: a PublishedResource that turned invalid keeps its last published schema, and
// must not take a refused claim into the export with it.
func validRelatedClaims(spec syncagentv1alpha1.PublishedResourceSpec) []relatedClaim {
	root := field.NewPath("spec", "related")
	var out []relatedClaim
	for i, rel := range spec.Related {
		if len(validateClaim(root.Index(i), rel)) == 0 {
			out = append(out, relatedClaim{index: i, claim: RelatedClaim(rel)})
		}
	}
	return out
}

// claimHolder is who holds a group and resource in the export's claims.
type claimHolder struct {
	hash string
	// publishedResource and index name the related entry; fixed says who else holds the claim
	// when it is not a related entry: such a claim is not the agent's to leave out.
	publishedResource string
	index             int
	fixed             string
	inExport          bool
	created           time.Time
}

// ClaimClashes finds the PublishedResources whose related resources claim a group and resource
// that another claim already has with another identity hash: kcp keeps one claim per group and
// resource, so it would refuse the export with both. current are the export's claims, of which the
// agent added those in previous (claimKey), and prs the PublishedResources whose claims go into the
// export. A claim the agent did not add stays, and so do the events and namespaces claims of the
// sync; among the related entries, the one whose claim is in the export already keeps it, else the
// oldest PublishedResource's (then the first by name and index). The others' PublishedResources
// are returned with an error naming their field; they are to be left out of the export, so that
// they do not hold back the rest.
func ClaimClashes(current []apisv1alpha2.PermissionClaim, previous sets.Set[string], prs []syncagentv1alpha1.PublishedResource) map[string]*field.Error {
	holders := map[apisv1alpha2.GroupResource][]claimHolder{}
	inExport := sets.New[string]()
	for _, c := range current {
		inExport.Insert(claimKey(c))
		if !previous.Has(claimKey(c)) {
			holders[c.GroupResource] = append(holders[c.GroupResource], claimHolder{hash: c.IdentityHash, fixed: "a claim in the APIExport that this agent did not add"})
		}
	}
	for _, pr := range prs {
		if !SynchronizationEnabled(pr.Spec) {
			continue
		}
		for _, c := range syncClaims {
			holders[c.GroupResource] = append(holders[c.GroupResource], claimHolder{hash: c.IdentityHash, fixed: "the object sync's own claim"})
		}
		for _, rc := range validRelatedClaims(pr.Spec) {
			holders[rc.claim.GroupResource] = append(holders[rc.claim.GroupResource], claimHolder{
				hash: rc.claim.IdentityHash, publishedResource: pr.Name, index: rc.index,
				inExport: inExport.Has(claimKey(rc.claim)), created: pr.CreationTimestamp.Time,
			})
		}
	}
	clashes := map[string]*field.Error{}
	for gr, hs := range holders {
		winner := slices.MinFunc(hs, rankHolders)
		for _, h := range hs {
			if h.publishedResource != "" && h.hash != winner.hash && clashes[h.publishedResource] == nil {
				clashes[h.publishedResource] = clashError(gr, h, winner)
			}
		}
	}
	return clashes
}

// rankHolders orders the holders of one group and resource: claims that are not related entries
// first, then related entries whose claim is in the export, then the oldest PublishedResource's,
// then by name and index.
func rankHolders(a, b claimHolder) int {
	rank := func(h claimHolder) int {
		switch {
		case h.fixed != "":
			return 0
		case h.inExport:
			return 1
		}
		return 2
	}
	if d := rank(a) - rank(b); d != 0 {
		return d
	}
	if d := a.created.Compare(b.created); d != 0 {
		return d
	}
	if d := strings.Compare(a.publishedResource, b.publishedResource); d != 0 {
		return d
	}
	return a.index - b.index
}

func clashError(gr apisv1alpha2.GroupResource, loser, winner claimHolder) *field.Error {
	holder := winner.fixed
	if holder == "" {
		holder = fmt.Sprintf("PublishedResource %s (spec.related[%d])", winner.publishedResource, winner.index)
	}
	return field.Invalid(field.NewPath("spec", "related").Index(loser.index).Child("identityHash"), loser.hash, fmt.Sprintf(
		"%s already claims %s with identity hash %q, and kcp allows one claim per group and resource; use the same identityHash, or relate another resource",
		holder, claimName(apisv1alpha2.PermissionClaim{GroupResource: gr}), winner.hash))
}
