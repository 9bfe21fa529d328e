package syncengine

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/bindery-dev/bindery/pkg/templating"
)

// sourceData is the templating data for a source object in cluster; namespace "" makes it
// cluster-scoped.
func sourceData(cluster, namespace, name string) templating.Data {
	meta := map[string]any{"name": name}
	if namespace != "" {
		meta["namespace"] = namespace
	}
	return templating.Data{
		ClusterName: cluster,
		ClusterPath: "root:org:team",
		Object: map[string]any{
			"apiVersion": "example.com/v1",
			"kind":       "Database",
			"metadata":   meta,
			"spec":       map[string]any{"tier": "Gold"},
		},
	}
}

// specNaming is where a PublishedResource's naming templates come from.
var specNaming = field.NewPath("spec", "naming")

func mustNamer(t *testing.T, n Naming) *Namer {
	t.Helper()
	namer, err := NewNamer(n)
	if err != nil {
		t.Fatalf("NewNamer(%+v): %v", n, err)
	}
	return namer
}

func mustLocate(t *testing.T, n *Namer, data templating.Data, clusterScopedTarget bool) (string, string) {
	t.Helper()
	ns, name, err := n.Locate(data, clusterScopedTarget)
	if err != nil {
		t.Fatalf("Locate: %v", err)
	}
	if clusterScopedTarget && ns != "" {
		t.Errorf("namespace %q for a cluster-scoped target", ns)
	}
	if !clusterScopedTarget {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			t.Errorf("namespace %q is invalid: %v", ns, errs)
		}
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		t.Errorf("name %q is invalid: %v", name, errs)
	}
	return ns, name
}

func TestLocateDefaults(t *testing.T) {
	tests := []struct {
		name          string
		data          templating.Data
		clusterScoped bool
		wantNamespace string
		wantName      string
	}{
		{"namespaced source", sourceData("2x8cxnqmfw5lmjcs", "default", "my-db"), false, "2x8cxnqmfw5lmjcs", "default-my-db"},
		{"cluster-scoped source", sourceData("2x8cxnqmfw5lmjcs", "", "my-db"), false, "2x8cxnqmfw5lmjcs", "my-db"},
		{"namespaced source, cluster-scoped target", sourceData("2x8cxnqmfw5lmjcs", "default", "my-db"), true, "", "2x8cxnqmfw5lmjcs-default-my-db"},
		{"cluster-scoped source and target", sourceData("2x8cxnqmfw5lmjcs", "", "my-db"), true, "", "2x8cxnqmfw5lmjcs-my-db"},
	}
	for _, n := range []Naming{{}, {Field: specNaming}} {
		namer := mustNamer(t, n)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ns, name := mustLocate(t, namer, tt.data, tt.clusterScoped)
				if ns != tt.wantNamespace || name != tt.wantName {
					t.Errorf("Locate = %q, %q; want %q, %q", ns, name, tt.wantNamespace, tt.wantName)
				}
			})
		}
	}
}

func TestLocateDefaultNameNormalised(t *testing.T) {
	namer := mustNamer(t, Naming{})
	for _, tt := range []struct{ namespace, name, wantPrefix string }{
		{"kube-system", "db", "kube-system-db-"}, // "-" in the namespace: hashed, see DNSLabel
		{"default", "my.db", "default-my-db-"},   // dots are valid in names but not in labels
		{"", strings.Repeat("x", 253), strings.Repeat("x", 52) + "-"},
		{strings.Repeat("n", 63), strings.Repeat("x", 253), strings.Repeat("n", 52) + "-"},
	} {
		_, name := mustLocate(t, namer, sourceData("c", tt.namespace, tt.name), false)
		if !strings.HasPrefix(name, tt.wantPrefix) || len(name) > 63 {
			t.Errorf("default name for %q/%q = %q, want %q plus a hash, at most 63 characters", tt.namespace, tt.name, name, tt.wantPrefix)
		}
	}
}

func TestLocateDefaultNameUnique(t *testing.T) {
	namer := mustNamer(t, Naming{})
	long := strings.Repeat("a", 60)
	pairs := [][2][2]string{
		{{"a-b", "c"}, {"a", "b-c"}},
		{{"a", "b.c"}, {"a.b", "c"}},
		{{"ns", long + "1"}, {"ns", long + "2"}},
		{{long + "1", "x"}, {long + "2", "x"}},
		{{"default", "My-DB"}, {"default", "my-db"}},
	}
	for _, clusterScoped := range []bool{false, true} {
		for _, p := range pairs {
			_, a := mustLocate(t, namer, sourceData("c", p[0][0], p[0][1]), clusterScoped)
			_, b := mustLocate(t, namer, sourceData("c", p[1][0], p[1][1]), clusterScoped)
			if a == b {
				t.Errorf("clusterScopedTarget=%v: sources %q and %q share the copy name %q", clusterScoped, p[0], p[1], a)
			}
		}
	}
	// With a cluster-scoped target there is no namespace per cluster, so the name tells them apart.
	_, a := mustLocate(t, namer, sourceData("c1", "default", "db"), true)
	_, b := mustLocate(t, namer, sourceData("c2", "default", "db"), true)
	if a == b {
		t.Errorf("two clusters share the cluster-scoped copy name %q", a)
	}
}

func TestLocateTemplates(t *testing.T) {
	namer := mustNamer(t, Naming{Field: specNaming,
		Namespace: `consumer-{{ shortHash .ClusterName }}`,
		Name:      `{{ lower .Object.spec.tier }}-{{ .Object.metadata.name }}` + "\n", // a YAML block scalar's newline
	})
	ns, name := mustLocate(t, namer, sourceData("2x8cxnqmfw5lmjcs", "default", "my-db"), false)
	if want := "consumer-" + templating.ShortHash("2x8cxnqmfw5lmjcs"); ns != want {
		t.Errorf("namespace = %q, want %q", ns, want)
	}
	if name != "gold-my-db" {
		t.Errorf("name = %q, want gold-my-db", name)
	}

	// Only the name template: the namespace keeps its default.
	namer = mustNamer(t, Naming{Field: specNaming, Name: `{{ .Object.metadata.name }}`})
	if ns, name := mustLocate(t, namer, sourceData("c", "default", "my-db"), false); ns != "c" || name != "my-db" {
		t.Errorf("Locate = %q, %q; want c, my-db", ns, name)
	}

	// A cluster-scoped target does not render the namespace template, even a failing one.
	namer = mustNamer(t, Naming{Field: specNaming, Namespace: `{{ .Object.metadata.missing }}`})
	if ns, name := mustLocate(t, namer, sourceData("c", "", "my-db"), true); ns != "" || name != "c-my-db" {
		t.Errorf("Locate = %q, %q; want \"\", c-my-db", ns, name)
	}
}

func TestNewNamerSyntaxErrors(t *testing.T) {
	for _, tt := range []struct {
		naming Naming
		field  string
	}{
		{Naming{Field: specNaming, Namespace: "{{ .ClusterName "}, "spec.naming.namespace"},
		{Naming{Field: specNaming, Name: "{{ upper .ClusterName }}"}, "spec.naming.name"},
	} {
		if _, err := NewNamer(tt.naming); err == nil || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("NewNamer(%+v) error = %v, want one naming %s", tt.naming, err, tt.field)
		}
	}
}

func TestLocateErrors(t *testing.T) {
	tests := []struct {
		name          string
		naming        Naming
		data          templating.Data
		clusterScoped bool
		want          []string
	}{
		{"namespace not a label", Naming{Field: specNaming, Namespace: `{{ .ClusterPath }}`}, sourceData("c", "default", "db"), false,
			[]string{"spec.naming.namespace", `"root:org:team"`}},
		{"namespace too long", Naming{Field: specNaming, Namespace: strings.Repeat("n", 64)}, sourceData("c", "default", "db"), false,
			[]string{"spec.naming.namespace", strings.Repeat("n", 64)}},
		{"empty cluster name", Naming{Field: specNaming}, sourceData("", "default", "db"), false,
			[]string{"spec.naming.namespace", `""`}},
		{"name with upper case", Naming{Field: specNaming, Name: `{{ .Object.spec.tier }}`}, sourceData("c", "default", "db"), false,
			[]string{"spec.naming.name", `"Gold"`}},
		{"name too long", Naming{Field: specNaming, Name: `{{ .Object.metadata.name }}.{{ .Object.metadata.name }}`}, sourceData("c", "default", strings.Repeat("x", 200)), false,
			[]string{"spec.naming.name", "253"}},
		{"empty name", Naming{Field: specNaming, Name: `{{ trunc 0 .ClusterName }}`}, sourceData("c", "default", "db"), true,
			[]string{"spec.naming.name", `""`}},
		{"missing key", Naming{Field: specNaming, Name: `{{ .Object.metadata.namespace }}`}, sourceData("c", "", "db"), false,
			[]string{"spec.naming.name", "namespace"}},
		{"default name without a source name", Naming{Field: specNaming}, sourceData("c", "default", ""), false,
			[]string{"spec.naming.name", "metadata.name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns, name, err := mustNamer(t, tt.naming).Locate(tt.data, tt.clusterScoped)
			if err == nil {
				t.Fatalf("Locate = %q, %q; want an error", ns, name)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}
