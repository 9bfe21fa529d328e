package workspacebackend

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestCrossConsumption is the mission's cross-consumption layout with two providers: the
// Database team publishes Databases (syncagent); the Analytics team binds them in its workspace
// and, through its workspace's backend and a konnector, into its own cluster, where its operator
// creates the Databases its Reports need; the Analytics team publishes Reports from that same
// cluster with a syncagent of its own, and a Marketing workspace binds them. A Report created in
// Marketing's workspace ends Ready with the endpoint of a Database the Database team's operator
// runs, which went Analytics cluster -> Analytics workspace -> Database team's cluster. The
// Analytics operator is played by the test: it is the one step no bindery process does.
func TestCrossConsumption(t *testing.T) {
	ctx := framework.Context(t)
	databases := newChain(t) // the Database team, and the Analytics team's workspace serving its clusters
	analytics := databases.bindCluster(t, alice)

	t.Log("the Analytics team publishes Reports from its cluster")
	framework.InstallCRDs(t, analytics.config, "test/e2e/workspacebackend/testdata/report-crd.yaml")
	reportsExport := framework.NewWorkspace(t, "analytics")
	reports := &syncagentv1alpha1.PublishedResource{
		ObjectMeta: metav1.ObjectMeta{Name: "reports"},
		Spec: syncagentv1alpha1.PublishedResourceSpec{
			Resource:   syncagentv1alpha1.SourceResource{APIGroup: "analytics.internal", Kind: "Report"},
			Projection: &syncagentv1alpha1.Projection{Group: "reports.analytics.example"},
		},
	}
	if err := analytics.client.Create(ctx, reports); err != nil {
		t.Fatal(err)
	}
	framework.StartProcess(t, "analytics-syncagent", framework.Binary(t, "./cmd/bindery-syncagent"),
		"--kcp-kubeconfig", framework.WriteKubeconfig(t, "analytics-kcp", reportsExport.Config),
		"--kubeconfig", framework.WriteKubeconfig(t, "analytics", analytics.config),
		"--apiexport-endpoint-slice", "reports", "--agent-name", "analytics",
		"--leader-elect=false", "--metrics-bind-address", "0", "--health-probe-bind-address", "0")
	waitCondition(t, analytics.client, reports, syncagentv1alpha1.ConditionReady)
	marketing := framework.NewWorkspace(t, "marketing")
	framework.BindExport(t, marketing, reportsExport, "reports")

	t.Log("Marketing orders a Report in its workspace")
	published := schema.GroupVersionKind{Group: "reports.analytics.example", Version: "v1", Kind: "Report"}
	report := &unstructured.Unstructured{}
	report.SetGroupVersionKind(published)
	report.SetNamespace("default")
	report.SetName("q3")
	_ = unstructured.SetNestedField(report.Object, "revenue by region", "spec", "query")
	framework.CreateWhenServed(t, marketing.Client, report)

	t.Log("the Analytics operator (the test) orders a Database for the Report's copy in its cluster")
	internal := schema.GroupVersionKind{Group: "analytics.internal", Version: "v1", Kind: "Report"}
	var copied unstructured.Unstructured
	framework.WaitFor(t, time.Minute, "the Report's copy in the Analytics cluster", func(ctx context.Context) (bool, string, error) {
		items, err := list(ctx, analytics.client, internal, "")
		if err != nil || len(items) != 1 {
			return false, fmt.Sprintf("%d copies", len(items)), err
		}
		copied = items[0]
		return true, "", nil
	})
	db := framework.Database(analytics.kind, copied.GetNamespace(), copied.GetName()+"-db")
	if err := analytics.client.Create(ctx, db); err != nil {
		t.Fatal(err)
	}
	var endpoint string
	framework.WaitFor(t, 2*time.Minute, "the Database Ready in the Analytics cluster, from the Database team's operator", func(ctx context.Context) (bool, string, error) {
		if err := analytics.client.Get(ctx, client.ObjectKeyFromObject(db), db); err != nil {
			return false, "", err
		}
		phase, _, _ := unstructured.NestedString(db.Object, "status", "phase")
		endpoint, _, _ = unstructured.NestedString(db.Object, "status", "endpoint")
		return phase == "Ready" && endpoint != "", "phase " + phase, nil
	})
	copies, err := databases.providerCopies(ctx)
	if err != nil || len(copies) != 1 {
		t.Fatalf("the Database team's cluster holds %d copies (%v), want the Analytics team's one", len(copies), err)
	}
	copied.Object["status"] = map[string]any{"phase": "Ready", "databaseEndpoint": endpoint}
	if err := analytics.client.Status().Update(ctx, &copied); err != nil {
		t.Fatalf("the Analytics operator reporting the Report Ready: %v", err)
	}

	t.Log("the Report is Ready in Marketing's workspace, with the Database team's endpoint")
	framework.WaitFor(t, time.Minute, "Report q3 Ready in Marketing's workspace", func(ctx context.Context) (bool, string, error) {
		if err := marketing.Client.Get(ctx, client.ObjectKeyFromObject(report), report); err != nil {
			return false, "", err
		}
		phase, _, _ := unstructured.NestedString(report.Object, "status", "phase")
		got, _, _ := unstructured.NestedString(report.Object, "status", "databaseEndpoint")
		return phase == "Ready" && got == endpoint, "phase " + phase + ", endpoint " + got, nil
	})
}
