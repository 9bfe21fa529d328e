package substrate

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kcp-dev/logicalcluster/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/bindery-dev/bindery/test/framework"
)

const widgetGroup = "substrate.bindery.dev"

var widgetGVR = framework.WidgetGVR(widgetGroup)

// TestAPIExportThroughVirtualWorkspace publishes a schema in a provider workspace, binds it from two
// consumer workspaces with an accepted Secrets claim and reads both consumers' objects through the
// export's virtual workspace URL at /clusters/*.
func TestAPIExportThroughVirtualWorkspace(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)

	provider := framework.NewWorkspace(t, "provider")
	secrets := framework.Claim("", "secrets", "get", "list", "watch")
	framework.ExportWidgets(t, provider, "widgets", widgetGroup, secrets)

	consumers := []*framework.Workspace{
		framework.NewWorkspace(t, "consumer"),
		framework.NewWorkspace(t, "consumer"),
	}
	for _, consumer := range consumers {
		framework.Bind(t, consumer, provider.Path, "widgets", secrets)
	}

	url := framework.EndpointURL(t, provider, "widgets")
	t.Logf("virtual workspace URL: %s", url)

	for _, consumer := range consumers {
		framework.CreateWhenServed(t, consumer.Client, framework.NewWidget(widgetGroup, "default", "w", "small"))
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: "default"}}
		if err := consumer.Client.Create(ctx, secret); err != nil {
			t.Fatalf("creating a secret in %s: %v", consumer.Path, err)
		}
	}

	want := []string{consumers[0].Cluster.String(), consumers[1].Cluster.String()}
	slices.Sort(want)
	vw := wildcardClient(t, url)
	for _, gvr := range []schema.GroupVersionResource{widgetGVR, corev1.SchemeGroupVersion.WithResource("secrets")} {
		framework.WaitFor(t, time.Minute, fmt.Sprintf("%s of both consumers through %s/clusters/*", gvr.Resource, url),
			func(ctx context.Context) (bool, string, error) {
				list, err := vw.Resource(gvr).List(ctx, metav1.ListOptions{})
				if err != nil {
					return false, "", err
				}
				got := clustersOf(list.Items, "creds", "w")
				return slices.Equal(got, want), fmt.Sprintf("clusters %v, want %v", got, want), nil
			})
	}
}

// wildcardClient returns a dynamic client for <url>/clusters/*, authenticated as kcp's admin.
func wildcardClient(t *testing.T, url string) *dynamic.DynamicClient {
	t.Helper()
	cfg := rest.CopyConfig(framework.KCP(t).AdminConfig())
	cfg.Host = url + "/clusters/*"
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("creating a client for %s: %v", cfg.Host, err)
	}
	return client
}

// clustersOf returns the sorted logical cluster names of the objects with one of the given names.
func clustersOf(items []unstructured.Unstructured, names ...string) []string {
	var clusters []string
	for _, item := range items {
		if slices.Contains(names, item.GetName()) {
			clusters = append(clusters, logicalcluster.From(&item).String())
		}
	}
	slices.Sort(clusters)
	return clusters
}
