package kubectlbindery

import (
	"bytes"
	"strings"
	"testing"

	catalogv1alpha1 "github.com/bindery-dev/bindery/apis/catalog/v1alpha1"
)

func TestPrintCatalogTable(t *testing.T) {
	entries := &catalogv1alpha1.CatalogEntryList{Items: []catalogv1alpha1.CatalogEntry{{
		Spec: catalogv1alpha1.CatalogEntrySpec{
			DisplayName: "Managed PostgreSQL",
			Export:      catalogv1alpha1.ExportReference{Path: "root:providers:dbs", Name: "databases"},
			Resources:   []catalogv1alpha1.Resource{{Group: "databases.example.com", Resource: "databases"}},
		},
		Status: catalogv1alpha1.CatalogEntryStatus{Consumers: 3},
	}}}
	var out bytes.Buffer
	if err := printCatalog(&out, entries, "table"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "SERVICE") {
		t.Fatalf("table = %q", out.String())
	}
	for _, want := range []string{"Managed PostgreSQL", "root:providers:dbs", "databases.databases.example.com", "3"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("row %q lacks %q", lines[1], want)
		}
	}
	out.Reset()
	if err := printCatalog(&out, &catalogv1alpha1.CatalogEntryList{}, "table"); err != nil || !strings.Contains(out.String(), "No services") {
		t.Fatalf("empty catalog: %q, %v", out.String(), err)
	}
	out.Reset()
	if err := printCatalog(&out, entries, "yaml"); err != nil || !strings.Contains(out.String(), "displayName: Managed PostgreSQL") {
		t.Fatalf("yaml: %q, %v", out.String(), err)
	}
}
