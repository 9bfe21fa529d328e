package publishing

import (
	"maps"
	"slices"
	"testing"
	"time"

	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
)

func entry(name, group, schema string) apisv1alpha2.ResourceSchema {
	return apisv1alpha2.ResourceSchema{Name: name, Group: group, Schema: schema,
		Storage: apisv1alpha2.ResourceSchemaStorage{CRD: &apisv1alpha2.ResourceSchemaStorageCRD{}}}
}

func claim(group, resource string, verbs ...string) apisv1alpha2.PermissionClaim {
	return apisv1alpha2.PermissionClaim{GroupResource: apisv1alpha2.GroupResource{Group: group, Resource: resource}, Verbs: verbs}
}

func schemasOf(export *apisv1alpha2.APIExport) []string {
	var out []string
	for _, r := range export.Spec.Resources {
		out = append(out, r.Schema)
	}
	return out
}

func TestMergeExportResources(t *testing.T) {
	export := &apisv1alpha2.APIExport{ObjectMeta: metav1.ObjectMeta{Name: "e"}, Spec: apisv1alpha2.APIExportSpec{
		Resources: []apisv1alpha2.ResourceSchema{
			entry("widgets", "other.example.com", "v1.widgets.other.example.com"), // someone else's
			entry("databases", "db.example.com", "vold.databases.db.example.com"), // ours, replaced
			entry("caches", "db.example.com", "vaaa.caches.db.example.com"),       // ours, no longer wanted
		},
	}}
	owned := sets.New("vold.databases.db.example.com", "vaaa.caches.db.example.com")
	if err := MergeExport(export, "agent", owned, DesiredExport{Schemas: []string{"vnew.databases.db.example.com"}}); err != nil {
		t.Fatal(err)
	}
	want := []string{"vnew.databases.db.example.com", "v1.widgets.other.example.com"}
	if got := schemasOf(export); !slices.Equal(got, want) {
		t.Fatalf("resources = %v, want %v", got, want)
	}

	err := MergeExport(export, "agent", sets.New[string](), DesiredExport{Schemas: []string{"vmine.widgets.other.example.com"}})
	if err == nil {
		t.Fatal("taking over a resource served by a schema the agent does not own must fail")
	}
}

func TestMergeExportClaims(t *testing.T) {
	export := &apisv1alpha2.APIExport{Spec: apisv1alpha2.APIExportSpec{
		PermissionClaims: []apisv1alpha2.PermissionClaim{claim("", "configmaps", "get")},
	}}
	desired := DesiredExport{Claims: []apisv1alpha2.PermissionClaim{claim("", "secrets", "get", "list"), claim("", "configmaps", "list")}}
	if err := MergeExport(export, "a", nil, desired); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, c := range export.Spec.PermissionClaims {
		got[c.Resource] = c.Verbs
	}
	if !slices.Equal(got["configmaps"], []string{"get", "list"}) || !slices.Equal(got["secrets"], []string{"get", "list"}) {
		t.Fatalf("claims = %v; want others' configmaps claim extended and a new secrets claim", got)
	}
	if export.Annotations[ClaimsAnnotationPrefix+"a"] != `["/secrets/"]` {
		t.Fatalf("owned claims annotation = %q", export.Annotations[ClaimsAnnotationPrefix+"a"])
	}

	// Another agent's claims survive; the first agent's secrets claim goes when no longer needed.
	if err := MergeExport(export, "b", nil, DesiredExport{Claims: []apisv1alpha2.PermissionClaim{claim("", "events", "create")}}); err != nil {
		t.Fatal(err)
	}
	if err := MergeExport(export, "a", nil, DesiredExport{}); err != nil {
		t.Fatal(err)
	}
	var resources []string
	for _, c := range export.Spec.PermissionClaims {
		resources = append(resources, c.Resource)
	}
	if !slices.Equal(resources, []string{"configmaps", "events"}) {
		t.Fatalf("claims after agent a dropped secrets = %v, want configmaps (others') and events (agent b)", resources)
	}
}

func TestResolveSchemas(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	owned := sets.New("va.databases.db.example.com", "vb.databases.db.example.com", "vc.caches.db.example.com", "vd.caches.db.example.com")
	current := []apisv1alpha2.ResourceSchema{
		entry("widgets", "other.example.com", "v1.widgets.other.example.com"), // someone else's
		entry("databases", "db.example.com", "va.databases.db.example.com"),   // served for PublishedResource a
	}
	candidates := []Candidate{
		// b is older, but a holds the entry and updates its schema.
		{PublishedResource: "a", Schema: "va2.databases.db.example.com", Previous: "va.databases.db.example.com", Created: t0.Add(time.Hour)},
		{PublishedResource: "b", Schema: "vb.databases.db.example.com", Created: t0},
		// Nobody serves caches yet: the oldest wins, also over the same schema.
		{PublishedResource: "c", Schema: "vc.caches.db.example.com", Created: t0.Add(time.Minute)},
		{PublishedResource: "d", Schema: "vd.caches.db.example.com", Created: t0.Add(2 * time.Minute)},
		{PublishedResource: "c2", Schema: "vc.caches.db.example.com", Created: t0.Add(3 * time.Minute)},
		// Someone else's resource is nobody's to take.
		{PublishedResource: "e", Schema: "ve.widgets.other.example.com", Created: t0},
		{PublishedResource: "f", Schema: "vf.queues.db.example.com", Created: t0},
	}
	schemas, conflicts, err := ResolveSchemas(current, owned, candidates)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"va2.databases.db.example.com", "vc.caches.db.example.com", "vf.queues.db.example.com"}
	if !slices.Equal(schemas, want) {
		t.Fatalf("schemas = %v, want %v", schemas, want)
	}
	wantConflicts := map[string]Conflict{
		"b":  {Resource: "databases", Group: "db.example.com", PublishedResource: "a"},
		"d":  {Resource: "caches", Group: "db.example.com", PublishedResource: "c"},
		"c2": {Resource: "caches", Group: "db.example.com", PublishedResource: "c"},
		"e":  {Resource: "widgets", Group: "other.example.com", ForeignSchema: "v1.widgets.other.example.com"},
	}
	if !maps.Equal(conflicts, wantConflicts) {
		t.Fatalf("conflicts = %+v, want %+v", conflicts, wantConflicts)
	}

	// Once the holder is gone, the other one takes the entry.
	schemas, conflicts, err = ResolveSchemas(current, owned, []Candidate{{PublishedResource: "b", Schema: "vb.databases.db.example.com", Created: t0}})
	if err != nil || !slices.Equal(schemas, []string{"vb.databases.db.example.com"}) || len(conflicts) != 0 {
		t.Fatalf("after the holder left: schemas %v, conflicts %v, err %v", schemas, conflicts, err)
	}

	if _, _, err := ResolveSchemas(nil, owned, []Candidate{{PublishedResource: "x", Schema: "bad"}}); err == nil {
		t.Fatal("a malformed schema name must be an error")
	}
}

func TestServingLeavesOutUnpublishedAndClashing(t *testing.T) {
	pr := func(name string) syncagentv1alpha1.PublishedResource {
		return syncagentv1alpha1.PublishedResource{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	prs := []syncagentv1alpha1.PublishedResource{pr("serving"), pr("never-published"), pr("lost-clash")}
	candidates := []Candidate{
		{PublishedResource: "serving", Schema: "v1.databases.example.com"},
		{PublishedResource: "lost-clash", Schema: "v2.databases.example.com"},
	}
	conflicts := map[string]Conflict{"lost-clash": {PublishedResource: "serving"}}
	var names []string
	for _, p := range Serving(prs, candidates, conflicts) {
		names = append(names, p.Name)
	}
	if !slices.Equal(names, []string{"serving"}) {
		t.Errorf("Serving = %v, want [serving]", names)
	}
}
