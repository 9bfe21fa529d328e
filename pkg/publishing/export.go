package publishing

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	"k8s.io/apimachinery/pkg/util/sets"
)

// ClaimsAnnotationPrefix + agent name is the APIExport annotation recording the permission claims
// an agent added, so that it can later remove exactly those and keep everyone else's.
const ClaimsAnnotationPrefix = "syncagent.bindery.dev/claims."

// DesiredExport is what one agent wants in an APIExport.
type DesiredExport struct {
	// Schemas are the schema names of the agent's published resources.
	Schemas []string
	// Claims are the permission claims the agent's configuration needs.
	Claims []apisv1alpha2.PermissionClaim
}

// MergeExport updates export in place so that it holds the agent's desired schemas and claims:
// entries whose schema the agent owns (ownedSchemas) but no longer wants are removed, entries of
// others are kept. An entry of another owner for the same resource and group is a conflict.
func MergeExport(export *apisv1alpha2.APIExport, agent string, ownedSchemas sets.Set[string], desired DesiredExport) error {
	resources, err := mergeResources(export.Spec.Resources, ownedSchemas, desired.Schemas)
	if err != nil {
		return err
	}
	export.Spec.Resources = resources
	claims, owned := mergeClaims(export.Spec.PermissionClaims, previousClaims(export, agent), desired.Claims)
	export.Spec.PermissionClaims = claims
	if export.Annotations == nil {
		export.Annotations = map[string]string{}
	}
	encoded, err := json.Marshal(owned)
	if err != nil {
		return err
	}
	export.Annotations[ClaimsAnnotationPrefix+agent] = string(encoded)
	return nil
}

func mergeResources(current []apisv1alpha2.ResourceSchema, owned sets.Set[string], wanted []string) ([]apisv1alpha2.ResourceSchema, error) {
	type key struct{ name, group string }
	want := map[key]string{}
	for _, schema := range wanted {
		resource, group, ok := SchemaResource(schema)
		if !ok {
			return nil, fmt.Errorf("schema name %q is not of the form <prefix>.<resource>.<group>", schema)
		}
		if other, dup := want[key{resource, group}]; dup && other != schema {
			return nil, fmt.Errorf("two published resources project to %s.%s (schemas %s and %s); give one a different projection", resource, group, other, schema)
		}
		want[key{resource, group}] = schema
	}
	var out []apisv1alpha2.ResourceSchema
	for _, entry := range current {
		k := key{entry.Name, entry.Group}
		_, wanted := want[k]
		switch {
		case owned.Has(entry.Schema):
			// Ours: dropped here and re-added below if still wanted.
		case wanted:
			return nil, fmt.Errorf("the APIExport already serves %s.%s from schema %s, which this agent does not own", entry.Name, entry.Group, entry.Schema)
		default:
			out = append(out, entry)
		}
	}
	for k, schema := range want {
		out = append(out, apisv1alpha2.ResourceSchema{
			Name: k.name, Group: k.group, Schema: schema,
			Storage: apisv1alpha2.ResourceSchemaStorage{CRD: &apisv1alpha2.ResourceSchemaStorageCRD{}},
		})
	}
	slices.SortFunc(out, func(a, b apisv1alpha2.ResourceSchema) int {
		return strings.Compare(a.Group+"/"+a.Name, b.Group+"/"+b.Name)
	})
	return out, nil
}

// claimKey identifies a claim by group, resource and identity hash, as kcp does.
func claimKey(c apisv1alpha2.PermissionClaim) string {
	return c.Group + "/" + c.Resource + "/" + c.IdentityHash
}

func previousClaims(export *apisv1alpha2.APIExport, agent string) sets.Set[string] {
	var keys []string
	if raw, ok := export.Annotations[ClaimsAnnotationPrefix+agent]; ok {
		_ = json.Unmarshal([]byte(raw), &keys) // a damaged annotation only means we own nothing yet
	}
	return sets.New(keys...)
}

// mergeClaims removes the claims the agent added before and no longer wants, sets the verbs of
// claims it owns, adds new ones and leaves everyone else's alone. It returns the claims and the
// keys the agent now owns. A claim someone else already made is extended by the agent's verbs
// but not taken over.
func mergeClaims(current []apisv1alpha2.PermissionClaim, previous sets.Set[string], desired []apisv1alpha2.PermissionClaim) ([]apisv1alpha2.PermissionClaim, []string) {
	want := map[string]apisv1alpha2.PermissionClaim{}
	for _, c := range desired {
		k := claimKey(c)
		if existing, ok := want[k]; ok {
			c.Verbs = sets.List(sets.New(existing.Verbs...).Insert(c.Verbs...))
		}
		want[k] = c
	}
	var out []apisv1alpha2.PermissionClaim
	owned := sets.New[string]()
	for _, c := range current {
		k := claimKey(c)
		w, wanted := want[k]
		switch {
		case previous.Has(k) && !wanted:
			continue
		case previous.Has(k):
			out = append(out, w)
			owned.Insert(k)
		case wanted:
			c.Verbs = sets.List(sets.New(c.Verbs...).Insert(w.Verbs...))
			out = append(out, c)
		default:
			out = append(out, c)
		}
		delete(want, k)
	}
	for k, c := range want {
		out = append(out, c)
		owned.Insert(k)
	}
	slices.SortFunc(out, func(a, b apisv1alpha2.PermissionClaim) int { return strings.Compare(claimKey(a), claimKey(b)) })
	return out, sets.List(owned)
}
