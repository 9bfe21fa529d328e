package syncagent

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/syncagent"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/pkg/templating"
	"github.com/bindery-dev/bindery/test/framework"
	"github.com/bindery-dev/bindery/test/servers"
)

// agentServiceAccount is the identity deploy/syncagent/rbac.yaml grants the agent's rights to.
const agentServiceAccount = "system:serviceaccount:bindery-system:bindery-syncagent"

// TestSyncControllerFailureIsReportedAndRetried runs the agent with the RBAC of
// deploy/syncagent/rbac.yaml, without the rule for the published CRD: the sync controller cannot
// start, and the PublishedResource says so (Synced and Ready False, and an event), although its
// schema is published. Once the rule is added, the agent starts the controller again on its own,
// Ready turns True and objects sync. The rule first lacks "delete", so deleting a consumer object
// reports the failure to delete the copy as an event, until the verb is granted.
func TestSyncControllerFailureIsReportedAndRetried(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	kube := framework.StartKube(t, "deploy/crd")
	providerCluster := framework.NewClient(t, kube.Config())
	if err := providerCluster.Create(ctx, syncCRD()); err != nil {
		t.Fatal(err)
	}
	applyManifestFile(t, providerCluster, "deploy/syncagent/rbac.yaml")
	asAgent := kube.Config()
	asAgent.Impersonate = rest.ImpersonationConfig{UserName: agentServiceAccount}
	provider := framework.NewWorkspace(t, "provider")
	startAgent(t, provider, syncagent.Options{ProviderConfig: asAgent, EndpointSliceName: exportName, AgentName: "rbac"})
	if err := providerCluster.Create(ctx, databasesPR()); err != nil {
		t.Fatal(err)
	}
	waitForCondition(t, providerCluster, "databases", syncagentv1alpha1.ConditionSynced, metav1.ConditionFalse, "SyncControllerFailed", "forbidden")
	if !isTrue(get(t, providerCluster, "databases"), syncagentv1alpha1.ConditionSchemaPublished) {
		t.Fatal("publishing must not depend on the sync controller")
	}
	// Ready tells the truth: the schema is published, but nothing syncs.
	waitForCondition(t, providerCluster, "databases", syncagentv1alpha1.ConditionReady, metav1.ConditionFalse, "SyncControllerFailed", "forbidden")

	t.Log("granting the rule for the published CRD (without delete) lets the agent start the controller again")
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "bindery-syncagent-postgresclusters"},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{internalGroup}, Resources: []string{"postgresclusters"},
			Verbs: []string{"get", "list", "watch", "create", "update", "patch"},
		}},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "bindery-system", Name: "bindery-syncagent"}},
	}
	for _, obj := range []client.Object{role, binding} {
		if err := providerCluster.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	waitForCondition(t, providerCluster, "databases", syncagentv1alpha1.ConditionSynced, metav1.ConditionTrue, "SyncRunning", "")
	waitForCondition(t, providerCluster, "databases", syncagentv1alpha1.ConditionReady, metav1.ConditionTrue, "Published", "are synced")
	waitForPREvent(t, providerCluster, "databases", "SyncControllerFailed", "forbidden")

	consumer := framework.NewWorkspace(t, "consumer")
	framework.Bind(t, consumer, provider.Path, exportName,
		framework.Claim("", "events", "create", "patch", "update"),
		framework.Claim("", "namespaces", "create", "get", "list", "watch"))
	framework.CreateWhenServed(t, consumer.Client, database("orders", "postgres"))
	source := syncengine.Source{Cluster: consumer.Cluster.String(), Namespace: "default", Name: "orders"}
	waitForCopy(t, providerCluster, source, "engine", "postgres")

	t.Log("deleting the copy is forbidden: the consumer sees why, and the deletion completes once it is allowed")
	if err := consumer.Client.Delete(ctx, database("orders", "")); err != nil {
		t.Fatal(err)
	}
	waitForEvent(t, consumer.Client, "orders", "SyncFailed", "deleting the copy")
	if err := providerCluster.Get(ctx, client.ObjectKeyFromObject(role), role); err != nil {
		t.Fatal(err)
	}
	role.Rules[0].Verbs = append(role.Rules[0].Verbs, "delete")
	if err := providerCluster.Update(ctx, role); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, 2*time.Minute, "the copy and the consumer's object to be gone", func(ctx context.Context) (bool, string, error) {
		if findCopy(ctx, t, providerCluster, source) != nil {
			return false, "copy still there", nil
		}
		err := consumer.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "orders"}, database("orders", ""))
		return apierrors.IsNotFound(err), fmt.Sprintf("consumer object: %v", err), nil
	})
}

// TestBlockedObjectIsRetried puts an object the agent does not own at the name where a consumer
// object's copy belongs: the consumer sees ProviderConflict, and once the blocker is deleted the
// copy appears without anything else changing.
func TestBlockedObjectIsRetried(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	kube, providerCluster, provider := newProviderSide(t)
	startAgent(t, provider, syncagent.Options{ProviderConfig: kube.Config(), EndpointSliceName: exportName, AgentName: "blocked"})
	if err := providerCluster.Create(ctx, databasesPR()); err != nil {
		t.Fatal(err)
	}
	waitForCondition(t, providerCluster, "databases", syncagentv1alpha1.ConditionSynced, metav1.ConditionTrue, "SyncRunning", "")
	consumer := framework.NewWorkspace(t, "consumer")
	framework.Bind(t, consumer, provider.Path, exportName,
		framework.Claim("", "events", "create", "patch", "update"),
		framework.Claim("", "namespaces", "create", "get", "list", "watch"))

	t.Log("the provider already has an object of its own where the copy would land")
	db := database("orders", "postgres")
	namer, err := syncengine.NewNamer(syncengine.Naming{})
	if err != nil {
		t.Fatal(err)
	}
	namespace, name, err := namer.Locate(templating.Data{ClusterName: consumer.Cluster.String(), Object: db.Object}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := providerCluster.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		t.Fatal(err)
	}
	blocker := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": internalGroup + "/v1beta1", "kind": "PostgresCluster",
		"metadata": map[string]any{"name": name, "namespace": namespace},
		"spec":     map[string]any{"engine": "the provider's own"},
	}}
	if err := providerCluster.Create(ctx, blocker); err != nil {
		t.Fatal(err)
	}
	framework.CreateWhenServed(t, consumer.Client, db)
	waitForEvent(t, consumer.Client, "orders", "ProviderConflict", name)

	t.Log("deleting the blocker lets the sync proceed on its own")
	if err := providerCluster.Delete(ctx, blocker); err != nil {
		t.Fatal(err)
	}
	source := syncengine.Source{Cluster: consumer.Cluster.String(), Namespace: "default", Name: "orders"}
	framework.WaitFor(t, 2*time.Minute, "the copy once the blocker is gone", func(ctx context.Context) (bool, string, error) {
		found := findCopy(ctx, t, providerCluster, source)
		if found == nil {
			return false, "no copy", nil
		}
		return found.GetName() == name && found.GetNamespace() == namespace, found.GetNamespace() + "/" + found.GetName(), nil
	})
}

// TestExportClashLeavesOthersAlone publishes two PublishedResources to the same group and
// resource, and a third one: the later of the two reports the clash and stays out of the export,
// while the others are published and the third keeps getting its changes in. When the first one
// goes, the second one takes its place.
func TestExportClashLeavesOthersAlone(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	kube := framework.StartKube(t, "deploy/crd")
	providerCluster := framework.NewClient(t, kube.Config())
	redis, memcached := namedCRD("RedisCluster"), namedCRD("MemcachedCluster")
	for _, crd := range []*apiextensionsv1.CustomResourceDefinition{syncCRD(), redis, memcached} {
		if err := providerCluster.Create(ctx, crd); err != nil {
			t.Fatal(err)
		}
	}
	provider := framework.NewWorkspace(t, "provider")
	startAgent(t, provider, syncagent.Options{ProviderConfig: kube.Config(), EndpointSliceName: exportName, AgentName: "clash"})

	if err := providerCluster.Create(ctx, databasesPR()); err != nil {
		t.Fatal(err)
	}
	databasesSchema := waitForCondition(t, providerCluster, "databases", syncagentv1alpha1.ConditionReady, metav1.ConditionTrue, "Published", "")
	clash := publishedAs("redis-databases", "RedisCluster", "Database")
	if err := providerCluster.Create(ctx, clash); err != nil {
		t.Fatal(err)
	}
	waitForCondition(t, providerCluster, "redis-databases", syncagentv1alpha1.ConditionReady, metav1.ConditionFalse, "ExportConflict", "PublishedResource databases already publishes databases."+publishedGroup)
	if schema := get(t, providerCluster, "redis-databases").Status.ResourceSchemaName; schema != "" {
		t.Fatalf("the clashing PublishedResource records schema %q, which is not in the export", schema)
	}

	t.Log("a third PublishedResource is published while the clash stands, and follows its CRD")
	if err := providerCluster.Create(ctx, publishedAs("caches", "MemcachedCluster", "Cache")); err != nil {
		t.Fatal(err)
	}
	firstCaches := waitForCondition(t, providerCluster, "caches", syncagentv1alpha1.ConditionReady, metav1.ConditionTrue, "Published", "")
	waitForExportSchemas(t, provider, firstCaches, databasesSchema)
	if err := providerCluster.Get(ctx, client.ObjectKeyFromObject(memcached), memcached); err != nil {
		t.Fatal(err)
	}
	memcached.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["memory"] = apiextensionsv1.JSONSchemaProps{Type: "string"}
	if err := providerCluster.Update(ctx, memcached); err != nil {
		t.Fatal(err)
	}
	var secondCaches string
	framework.WaitFor(t, time.Minute, "a new schema for caches after its CRD changed", func(ctx context.Context) (bool, string, error) {
		pr := get(t, providerCluster, "caches")
		secondCaches = pr.Status.ResourceSchemaName
		return secondCaches != firstCaches && isTrue(pr, syncagentv1alpha1.ConditionReady), "schema " + secondCaches, nil
	})
	waitForExportSchemas(t, provider, secondCaches, databasesSchema)
	for _, name := range []string{"databases", "caches"} {
		if pr := get(t, providerCluster, name); !isTrue(pr, syncagentv1alpha1.ConditionReady) {
			t.Fatalf("PublishedResource %s is not Ready while another one clashes: %+v", name, pr.Status.Conditions)
		}
	}
	waitForCondition(t, providerCluster, "redis-databases", syncagentv1alpha1.ConditionReady, metav1.ConditionFalse, "ExportConflict", "")

	t.Log("when the first PublishedResource goes, the second one takes the resource over")
	if err := providerCluster.Delete(ctx, databasesPR()); err != nil {
		t.Fatal(err)
	}
	redisSchema := waitForCondition(t, providerCluster, "redis-databases", syncagentv1alpha1.ConditionReady, metav1.ConditionTrue, "Published", "")
	waitForExportSchemas(t, provider, secondCaches, redisSchema)
}

// namedCRD is syncCRD for another kind in the internal group.
func namedCRD(kind string) *apiextensionsv1.CustomResourceDefinition {
	crd := syncCRD()
	plural := strings.ToLower(kind) + "s"
	crd.Name = plural + "." + internalGroup
	crd.Spec.Names = apiextensionsv1.CustomResourceDefinitionNames{Plural: plural, Singular: strings.ToLower(kind), Kind: kind, ListKind: kind + "List"}
	return crd
}

// publishedAs publishes kind of the internal group as projected in the published group.
func publishedAs(name, kind, projected string) *syncagentv1alpha1.PublishedResource {
	return &syncagentv1alpha1.PublishedResource{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: syncagentv1alpha1.PublishedResourceSpec{
			Resource:   syncagentv1alpha1.SourceResource{APIGroup: internalGroup, Kind: kind},
			Projection: &syncagentv1alpha1.Projection{Group: publishedGroup, Kind: projected, Versions: map[string]string{"v1beta1": "v1"}},
		},
	}
}

// waitForEvent waits until an event with the reason, whose message contains the text, is recorded
// on the consumer's Database in namespace default.
func waitForEvent(t *testing.T, c client.Client, object, reason, inMessage string) {
	t.Helper()
	framework.WaitFor(t, time.Minute, fmt.Sprintf("a %s event on %s mentioning %q", reason, object, inMessage), func(ctx context.Context) (bool, string, error) {
		events := &corev1.EventList{}
		if err := c.List(ctx, events, client.InNamespace("default")); err != nil {
			return false, "", err
		}
		var seen []string
		for _, e := range events.Items {
			if e.InvolvedObject.Name != object {
				continue
			}
			if e.Reason == reason && strings.Contains(e.Message, inMessage) {
				return true, "", nil
			}
			seen = append(seen, e.Reason+": "+e.Message)
		}
		return false, strings.Join(seen, "; "), nil
	})
}

// applyManifestFile creates the objects of a multi-document YAML file of the repository.
func applyManifestFile(t *testing.T, c client.Client, path string) {
	t.Helper()
	root, err := servers.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	objects, err := servers.ReadManifests(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range objects {
		if err := c.Create(framework.Context(t), obj); err != nil {
			t.Fatalf("creating %s %s from %s: %v", obj.GetKind(), obj.GetName(), path, err)
		}
	}
}
