package kubectlbindery

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	catalogv1alpha1 "github.com/bindery-dev/bindery/apis/catalog/v1alpha1"
	inventoryv1alpha1 "github.com/bindery-dev/bindery/apis/inventory/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/kcpconfig"
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

func TestPrintInventoryTable(t *testing.T) {
	inventories := &inventoryv1alpha1.ExportInventoryList{Items: []inventoryv1alpha1.ExportInventory{
		{
			ObjectMeta: metav1.ObjectMeta{Name: "databases"},
			Consumers: []inventoryv1alpha1.Consumer{
				{Path: "root:org:team-a", Cluster: "abc", Ready: true, AcceptedClaims: []string{"secrets"}},
				{Path: "root:org:team-b", Cluster: "def", Ready: false, RejectedClaims: []string{"configmaps"}},
			},
		},
		{ObjectMeta: metav1.ObjectMeta{Name: "caches"}},
	}}
	var out bytes.Buffer
	if err := printInventory(&out, inventories, "table"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("want a header, two consumers and one export without consumers:\n%s", out.String())
	}
	for i, want := range [][]string{{"root:org:team-a", "true", "secrets"}, {"root:org:team-b", "false", "configmaps"}, {"caches", "<none>"}} {
		for _, w := range want {
			if !strings.Contains(lines[i+1], w) {
				t.Errorf("row %q lacks %q", lines[i+1], w)
			}
		}
	}
}

func TestLoadServerOverridesTheKubeconfig(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kcp.kubeconfig")
	cfg := kcpconfig.Kubeconfig(&rest.Config{Host: "https://kcp:6443/clusters/root", BearerToken: "token"}, "kcp")
	if err := clientcmd.WriteToFile(*cfg, kubeconfig); err != nil {
		t.Fatal(err)
	}
	got, err := load(kubeconfig, "", "https://kcp:6443/clusters/root:providers:dbs")
	if err != nil {
		t.Fatal(err)
	}
	if got.Host != "https://kcp:6443/clusters/root:providers:dbs" || got.BearerToken != "token" {
		t.Errorf("got host %q, token %q; want the --server host with the kubeconfig's token", got.Host, got.BearerToken)
	}
	if got, err := load(kubeconfig, "", ""); err != nil || got.Host != "https://kcp:6443/clusters/root" {
		t.Errorf("without --server: host %q, err %v; want the kubeconfig's server", got.Host, err)
	}
}
