package syncagent

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/syncagent"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/pkg/templating"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestRelatedObjects moves a credentials Secret the provider's operator writes up into the
// consumer's workspace and a ConfigMap the consumer writes down to the provider, follows updates
// of both, and cleans both copies up when the consumer deletes its object.
func TestRelatedObjects(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	kube, providerCluster, provider := newProviderSide(t)
	startAgent(t, provider, syncagent.Options{ProviderConfig: kube.Config(), EndpointSliceName: exportName, AgentName: "related"})
	if err := providerCluster.Create(ctx, databasesPR(
		syncagentv1alpha1.RelatedResource{
			Identifier: "credentials", Origin: syncagentv1alpha1.OriginProvider, Version: "v1", Resource: "secrets",
			Object: syncagentv1alpha1.RelatedObjectSelector{Reference: &syncagentv1alpha1.ReferencePath{Path: "status.credentialsSecretRef.name"}},
		},
		syncagentv1alpha1.RelatedResource{
			Identifier: "config", Origin: syncagentv1alpha1.OriginConsumer, Version: "v1", Resource: "configmaps",
			Object: syncagentv1alpha1.RelatedObjectSelector{Reference: &syncagentv1alpha1.ReferencePath{Path: "spec.configRef"}},
		},
	)); err != nil {
		t.Fatal(err)
	}
	waitForCondition(t, providerCluster, "databases", syncagentv1alpha1.ConditionSynced, metav1.ConditionTrue, "SyncRunning", "")

	all := []string{"create", "delete", "get", "list", "patch", "update", "watch"}
	consumer := framework.NewWorkspace(t, "consumer")
	framework.Bind(t, consumer, provider.Path, exportName,
		framework.Claim("", "events", "create", "patch", "update"),
		framework.Claim("", "namespaces", "create", "get", "list", "watch"),
		framework.Claim("", "secrets", all...),
		framework.Claim("", "configmaps", all...))
	config := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "db-config", Namespace: "default"}, Data: map[string]string{"max_connections": "100"}}
	framework.CreateWhenServed(t, consumer.Client, config)
	db := database("orders", "postgres")
	_ = unstructured.SetNestedField(db.Object, "db-config", "spec", "configRef")
	framework.CreateWhenServed(t, consumer.Client, db)

	source := syncengine.Source{Cluster: consumer.Cluster.String(), Namespace: "default", Name: "orders"}
	// The ConfigMap's copy carries its namespace in its name (the provider namespace is shared by
	// every namespace of the workspace), and the copy of the Database refers to it by that name.
	configCopy := templating.DNSLabel("default", "db-config")
	copied := waitForCopy(t, providerCluster, source, "configRef", configCopy)
	providerNamespace := copied.GetNamespace()

	t.Log("the consumer's ConfigMap reaches the provider and follows updates")
	waitForConfigMap(t, providerCluster, providerNamespace, configCopy, "100")
	config.Data["max_connections"] = "200"
	if err := consumer.Client.Update(ctx, config); err != nil {
		t.Fatal(err)
	}
	waitForConfigMap(t, providerCluster, providerNamespace, configCopy, "200")

	t.Log("the operator's credentials Secret reaches the consumer and follows updates")
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "orders-creds", Namespace: providerNamespace}, StringData: map[string]string{"password": "s3cret"}}
	if err := providerCluster.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	copied.Object["status"] = map[string]any{"credentialsSecretRef": map[string]any{"name": "orders-creds"}}
	if err := providerCluster.Status().Update(ctx, copied); err != nil {
		t.Fatal(err)
	}
	waitForSecret(t, consumer.Client, "default", "orders-creds", "s3cret")
	secret.StringData = map[string]string{"password": "rotated"}
	if err := providerCluster.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	waitForSecret(t, consumer.Client, "default", "orders-creds", "rotated")

	t.Log("deleting the consumer's object cleans up both copies")
	if err := consumer.Client.Delete(ctx, database("orders", "")); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, time.Minute, "related copies to be cleaned up", func(ctx context.Context) (bool, string, error) {
		providerConfig := providerCluster.Get(ctx, client.ObjectKey{Namespace: providerNamespace, Name: configCopy}, &corev1.ConfigMap{})
		consumerSecret := consumer.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "orders-creds"}, &corev1.Secret{})
		return apierrors.IsNotFound(providerConfig) && apierrors.IsNotFound(consumerSecret),
			fmt.Sprintf("provider ConfigMap: %v; consumer Secret: %v", providerConfig, consumerSecret), nil
	})
}

func waitForConfigMap(t *testing.T, c client.Client, namespace, name, maxConnections string) {
	t.Helper()
	framework.WaitFor(t, time.Minute, fmt.Sprintf("ConfigMap %s/%s with max_connections=%s", namespace, name, maxConnections), func(ctx context.Context) (bool, string, error) {
		cm := &corev1.ConfigMap{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, cm); err != nil {
			return false, "", err
		}
		return cm.Data["max_connections"] == maxConnections, cm.Data["max_connections"], nil
	})
}

func waitForSecret(t *testing.T, c client.Client, namespace, name, password string) {
	t.Helper()
	framework.WaitFor(t, time.Minute, fmt.Sprintf("Secret %s/%s with the expected password", namespace, name), func(ctx context.Context) (bool, string, error) {
		s := &corev1.Secret{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, s); err != nil {
			return false, "", err
		}
		return string(s.Data["password"]) == password, "password differs", nil
	})
}
