package publishing

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

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

// Candidate is one PublishedResource's schema for the export.
type Candidate struct {
	// PublishedResource is the name of the PublishedResource.
	PublishedResource string
	// Schema is the schema it wants in the export.
	Schema string
	// Previous is the schema its status recorded before (status.resourceSchemaName), which may
	// still be the one the export serves.
	Previous string
	// Created is the PublishedResource's creation time: among PublishedResources that want the
	// same resource and group, none of them served yet, the oldest wins.
	Created time.Time
}

// Conflict says why a candidate's schema was left out of the export: another entry serves the
// same resource and group.
type Conflict struct {
	Resource, Group string
	// PublishedResource is another PublishedResource of the agent that keeps the entry, or
	PublishedResource string
	// ForeignSchema is the schema of an entry the agent does not own.
	ForeignSchema string
}

// ResolveSchemas decides which candidates' schemas go into an export whose resources are
// current, of which the agent owns the schemas in owned. The export holds one entry per resource
// and group, and each PublishedResource runs its own sync controller for the objects of its
// resource, so when several candidates want the same resource and group (even with the same
// schema), one PublishedResource keeps it: the one whose schema (or previous schema) the export
// serves now, else the oldest (then the first by name). A resource and group the export serves
// from a schema the agent does not own is nobody's to take. The others are left out, each with a
// Conflict; the winners' schemas are returned sorted. A clash therefore never holds back the
// other candidates.
func ResolveSchemas(current []apisv1alpha2.ResourceSchema, owned sets.Set[string], candidates []Candidate) ([]string, map[string]Conflict, error) {
	type key struct{ resource, group string }
	foreign, served := map[key]string{}, map[key]string{}
	for _, e := range current {
		if owned.Has(e.Schema) {
			served[key{e.Name, e.Group}] = e.Schema
		} else {
			foreign[key{e.Name, e.Group}] = e.Schema
		}
	}
	byKey := map[key][]Candidate{}
	for _, c := range candidates {
		resource, group, ok := SchemaResource(c.Schema)
		if !ok {
			return nil, nil, fmt.Errorf("schema name %q of PublishedResource %s is not of the form <prefix>.<resource>.<group>", c.Schema, c.PublishedResource)
		}
		byKey[key{resource, group}] = append(byKey[key{resource, group}], c)
	}
	schemas := sets.New[string]()
	conflicts := map[string]Conflict{}
	for k, cs := range byKey {
		if schema, ok := foreign[k]; ok {
			for _, c := range cs {
				conflicts[c.PublishedResource] = Conflict{Resource: k.resource, Group: k.group, ForeignSchema: schema}
			}
			continue
		}
		rank := func(c Candidate) int {
			switch served[k] {
			case "":
				return 2
			case c.Schema:
				return 0
			case c.Previous:
				return 1
			}
			return 2
		}
		winner := slices.MinFunc(cs, func(a, b Candidate) int {
			if d := rank(a) - rank(b); d != 0 {
				return d
			}
			if d := a.Created.Compare(b.Created); d != 0 {
				return d
			}
			return strings.Compare(a.PublishedResource, b.PublishedResource)
		})
		for _, c := range cs {
			if c.PublishedResource == winner.PublishedResource {
				schemas.Insert(c.Schema)
			} else {
				conflicts[c.PublishedResource] = Conflict{Resource: k.resource, Group: k.group, PublishedResource: winner.PublishedResource}
			}
		}
	}
	return sets.List(schemas), conflicts, nil
}
