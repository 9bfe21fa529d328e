package kcpbootstrap

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	apisv1alpha1 "github.com/kcp-dev/sdk/apis/apis/v1alpha1"
	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	tenancyv1alpha1 "github.com/kcp-dev/sdk/apis/tenancy/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/syncagent"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/test/framework"
)

const (
	// syncagentUser is the subject of deploy/kcp/provider/syncagent-rbac.yaml.
	syncagentUser  = "bindery-syncagent"
	internalGroup  = "internal.dbs.example.com"
	publishedGroup = "databases.example.com"
)

// TestSyncAgentRBAC bootstraps a provider workspace from deploy/kcp/provider exactly as
// deploy/README.md says, runs the agent as the User the RBAC file names, and checks that this
// identity publishes a schema, syncs an object from a consumer down and its status and a related
// Secret back, and cleans up on deletion; and that it cannot do what the file does not grant.
func TestSyncAgentRBAC(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	kcp := framework.KCP(t)

	t.Log("an admin applies workspace.yaml in a parent, then apiexport.yaml and syncagent-rbac.yaml inside the new workspace")
	parent := framework.NewWorkspace(t, "bootstrap")
	workspaces := manifest(t, "deploy/kcp/provider/workspace.yaml")
	if len(workspaces) != 1 || workspaces[0].GetKind() != "Workspace" {
		t.Fatalf("workspace.yaml holds %d objects, want one Workspace", len(workspaces))
	}
	apply(t, parent.Client, workspaces...)
	ws := waitForWorkspace(t, parent.Client, workspaces[0].GetName())
	providerPath := parent.Path.Join(ws.Name)
	admin := framework.NewClient(t, kcp.ClusterConfig(providerPath.String()))

	exports := manifest(t, "deploy/kcp/provider/apiexport.yaml")
	if len(exports) != 1 || exports[0].GetKind() != "APIExport" {
		t.Fatalf("apiexport.yaml holds %d objects, want one APIExport", len(exports))
	}
	exportName := exports[0].GetName()
	apply(t, admin, exports...)
	apply(t, admin, manifest(t, "deploy/kcp/provider/syncagent-rbac.yaml")...)

	t.Log("the provider cluster with a CRD and a PublishedResource with a provider-origin Secret")
	kube := framework.StartKube(t, "deploy/crd")
	providerCluster := framework.NewClient(t, kube.Config())
	if err := providerCluster.Create(ctx, postgresCRD()); err != nil {
		t.Fatalf("creating the provider CRD: %v", err)
	}
	if err := providerCluster.Create(ctx, databasesPR()); err != nil {
		t.Fatalf("creating the PublishedResource: %v", err)
	}

	agentKCP := forCluster(impersonating(shardAdmin(t), syncagentUser), providerPath.String())
	startAgent(t, syncagent.Options{
		KCPConfig: agentKCP, ProviderConfig: kube.Config(), EndpointSliceName: exportName, AgentName: "bootstrap",
	})

	t.Log("the agent, as " + syncagentUser + ", publishes the schema into the export")
	schema := waitForCondition(t, providerCluster, syncagentv1alpha1.ConditionReady, "Published")
	waitForCondition(t, providerCluster, syncagentv1alpha1.ConditionSynced, "SyncRunning")
	export := &apisv1alpha2.APIExport{}
	framework.WaitFor(t, time.Minute, "the export to serve the schema and claim secrets", func(ctx context.Context) (bool, string, error) {
		if err := admin.Get(ctx, ctrlclient.ObjectKey{Name: exportName}, export); err != nil {
			return false, "", err
		}
		served := slices.ContainsFunc(export.Spec.Resources, func(r apisv1alpha2.ResourceSchema) bool { return r.Schema == schema })
		claimed := slices.ContainsFunc(export.Spec.PermissionClaims, func(c apisv1alpha2.PermissionClaim) bool { return c.Resource == "secrets" })
		return served && claimed, fmt.Sprintf("resources %+v, claims %+v", export.Spec.Resources, export.Spec.PermissionClaims), nil
	})
	if export.Labels["catalog.bindery.dev/listed"] != "true" {
		t.Errorf("the agent's merge dropped the export's labels from apiexport.yaml: %v", export.Labels)
	}

	t.Log("a consumer binds the export, accepting its claims, and creates a Database")
	consumer := framework.NewWorkspace(t, "consumer")
	framework.Bind(t, consumer, providerPath, exportName, export.Spec.PermissionClaims...)
	framework.CreateWhenServed(t, consumer.Client, database("orders", "postgres"))

	t.Log("the copy arrives in the provider cluster; status and the credentials Secret flow back")
	source := syncengine.Source{Cluster: consumer.Cluster.String(), Namespace: "default", Name: "orders"}
	var copied *unstructured.Unstructured
	framework.WaitFor(t, time.Minute, "the copy of "+source.String(), func(ctx context.Context) (bool, string, error) {
		var err error
		copied, err = findCopy(ctx, providerCluster, source)
		if err != nil || copied == nil {
			return false, "no copy", err
		}
		engine, _, _ := unstructured.NestedString(copied.Object, "spec", "engine")
		return engine == "postgres", "spec.engine=" + engine, nil
	})
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "orders-creds", Namespace: copied.GetNamespace()},
		StringData: map[string]string{"password": "s3cret"},
	}
	if err := providerCluster.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	copied.Object["status"] = map[string]any{"phase": "Ready", "credentialsSecretRef": map[string]any{"name": "orders-creds"}}
	if err := providerCluster.Status().Update(ctx, copied); err != nil {
		t.Fatalf("the provider's operator writing status: %v", err)
	}
	framework.WaitFor(t, time.Minute, "status.phase=Ready on the consumer's Database", func(ctx context.Context) (bool, string, error) {
		db := database("orders", "")
		if err := consumer.Client.Get(ctx, ctrlclient.ObjectKeyFromObject(db), db); err != nil {
			return false, "", err
		}
		phase, _, _ := unstructured.NestedString(db.Object, "status", "phase")
		return phase == "Ready", "status.phase=" + phase, nil
	})
	framework.WaitFor(t, time.Minute, "the credentials Secret in the consumer's workspace", func(ctx context.Context) (bool, string, error) {
		s := &corev1.Secret{}
		if err := consumer.Client.Get(ctx, ctrlclient.ObjectKey{Namespace: "default", Name: "orders-creds"}, s); err != nil {
			return false, "", err
		}
		return string(s.Data["password"]) == "s3cret", "password differs", nil
	})

	t.Log("deleting the consumer's object deletes the copy and the Secret, then releases the object")
	if err := consumer.Client.Delete(ctx, database("orders", "")); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, time.Minute, "the copy, the consumer's Secret and its Database to be gone", func(ctx context.Context) (bool, string, error) {
		left, err := findCopy(ctx, providerCluster, source)
		if err != nil || left != nil {
			return false, "copy still there", err
		}
		secretErr := consumer.Client.Get(ctx, ctrlclient.ObjectKey{Namespace: "default", Name: "orders-creds"}, &corev1.Secret{})
		dbErr := consumer.Client.Get(ctx, ctrlclient.ObjectKey{Namespace: "default", Name: "orders"}, database("orders", ""))
		return apierrors.IsNotFound(secretErr) && apierrors.IsNotFound(dbErr),
			fmt.Sprintf("consumer Secret: %v; consumer Database: %v", secretErr, dbErr), nil
	})

	t.Log("in the provider workspace, " + syncagentUser + " holds exactly the rights of docs/syncagent.md")
	checkAccess(t, admin, syncagentUser, []rule{
		{group: "apis.kcp.io", resource: "apiexports", allowed: []string{"get", "list", "watch", "create", "update", "patch"}, denied: []string{"delete", "deletecollection", "bind"}},
		{group: "apis.kcp.io", resource: "apiresourceschemas", allowed: []string{"get", "list", "watch", "create"}, denied: []string{"update", "patch", "delete"}},
		{group: "apis.kcp.io", resource: "apiexportendpointslices", allowed: []string{"get", "list", "watch"}, denied: []string{"create", "update", "delete"}},
		{group: "apis.kcp.io", resource: "apiexports", subresource: "content", allowed: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
		{group: "apis.kcp.io", resource: "apibindings", denied: []string{"get", "list", "create"}},
		{group: "tenancy.kcp.io", resource: "workspaces", denied: []string{"get", "create"}},
		{resource: "secrets", denied: []string{"get", "list"}},
		{group: "rbac.authorization.k8s.io", resource: "clusterrolebindings", denied: []string{"create"}},
	})

	t.Log(syncagentUser + " may not do what syncagent-rbac.yaml does not grant")
	checkSyncAgentLimits(t, agentKCP, forCluster(impersonating(shardAdmin(t), syncagentUser), consumer.Path.String()), exportName, schema)
}

// checkSyncAgentLimits checks, as the agent's identity, a right the file grants (so that a refusal
// below is not a broken identity) and rights it does not.
func checkSyncAgentLimits(t *testing.T, agentKCP, agentInConsumer *rest.Config, exportName, schema string) {
	t.Helper()
	ctx := framework.Context(t)
	agent := framework.NewClient(t, agentKCP)
	if err := agent.Get(ctx, ctrlclient.ObjectKey{Name: exportName}, &apisv1alpha2.APIExport{}); err != nil {
		t.Fatalf("as %s, reading the APIExport the file grants: %v", syncagentUser, err)
	}
	expectForbidden(t, "deleting the APIExport",
		agent.Delete(ctx, &apisv1alpha2.APIExport{ObjectMeta: metav1.ObjectMeta{Name: exportName}}))
	expectForbidden(t, "deleting the published APIResourceSchema",
		agent.Delete(ctx, &apisv1alpha1.APIResourceSchema{ObjectMeta: metav1.ObjectMeta{Name: schema}}))
	expectForbidden(t, "creating a Workspace in the provider workspace",
		agent.Create(ctx, &tenancyv1alpha1.Workspace{ObjectMeta: metav1.ObjectMeta{Name: "not-allowed"}}))
	expectForbidden(t, "listing Secrets in the provider workspace", agent.List(ctx, &corev1.SecretList{}))
	expectForbidden(t, "listing APIBindings in the provider workspace", agent.List(ctx, &apisv1alpha2.APIBindingList{}))

	// The consumer's workspace is reachable only through the export's virtual workspace.
	direct := framework.NewClient(t, agentInConsumer)
	list := &unstructured.UnstructuredList{}
	list.SetAPIVersion(publishedGroup + "/v1")
	list.SetKind("DatabaseList")
	expectForbidden(t, "listing Databases in the consumer's workspace directly", direct.List(ctx, list))
	expectForbidden(t, "listing Secrets in the consumer's workspace directly", direct.List(ctx, &corev1.SecretList{}))
}

// startAgent runs bindery-syncagent in the test process until the test ends, as the binary runs
// it, without leader election, metrics or probes.
func startAgent(t *testing.T, opts syncagent.Options) {
	t.Helper()
	opts.LeaderElection = false
	opts.MetricsBindAddress = "0"
	opts.HealthProbeBindAddress = "0"
	opts.Log = framework.Logger(t).WithName("agent")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- syncagent.Run(ctx, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent stopped with error: %v", err)
		}
	})
}

// postgresCRD is the provider's internal CRD: spec.engine, status.phase and
// status.credentialsSecretRef.name, with a status subresource.
func postgresCRD() *apiextensionsv1.CustomResourceDefinition {
	str := apiextensionsv1.JSONSchemaProps{Type: "string"}
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "postgresclusters." + internalGroup},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: internalGroup,
			Names: apiextensionsv1.CustomResourceDefinitionNames{
				Plural: "postgresclusters", Singular: "postgrescluster", Kind: "PostgresCluster", ListKind: "PostgresClusterList",
			},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1beta1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"engine": str}},
						"status": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
							"phase":                str,
							"credentialsSecretRef": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"name": str}},
						}},
					},
				}},
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
			}},
		},
	}
}

// databasesPR publishes PostgresCluster as Database in databases.example.com/v1, with the
// credentials Secret the provider's operator names in status.credentialsSecretRef.name.
func databasesPR() *syncagentv1alpha1.PublishedResource {
	return &syncagentv1alpha1.PublishedResource{
		ObjectMeta: metav1.ObjectMeta{Name: "databases"},
		Spec: syncagentv1alpha1.PublishedResourceSpec{
			Resource:   syncagentv1alpha1.SourceResource{APIGroup: internalGroup, Kind: "PostgresCluster"},
			Projection: &syncagentv1alpha1.Projection{Group: publishedGroup, Kind: "Database", Versions: map[string]string{"v1beta1": "v1"}},
			Related: []syncagentv1alpha1.RelatedResource{{
				Identifier: "credentials", Origin: syncagentv1alpha1.OriginProvider, Version: "v1", Resource: "secrets",
				Object: syncagentv1alpha1.RelatedObjectSelector{Reference: &syncagentv1alpha1.ReferencePath{Path: "status.credentialsSecretRef.name"}},
			}},
		},
	}
}

// database is a consumer's Database in the default namespace.
func database(name, engine string) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": publishedGroup + "/v1", "kind": "Database",
		"metadata": map[string]any{"name": name, "namespace": "default"},
	}}
	if engine != "" {
		obj.Object["spec"] = map[string]any{"engine": engine}
	}
	return obj
}

// findCopy returns the provider-side copy of a source object, found by its ownership label, or nil.
func findCopy(ctx context.Context, c ctrlclient.Client, source syncengine.Source) (*unstructured.Unstructured, error) {
	list := &unstructured.UnstructuredList{}
	list.SetAPIVersion(internalGroup + "/v1beta1")
	list.SetKind("PostgresClusterList")
	if err := c.List(ctx, list, ctrlclient.MatchingLabels{syncengine.SourceLabel: source.Hash()}); err != nil {
		return nil, err
	}
	switch len(list.Items) {
	case 0:
		return nil, nil
	case 1:
		return &list.Items[0], nil
	default:
		return nil, fmt.Errorf("%d copies of %s, want at most one", len(list.Items), source)
	}
}

// waitForCondition waits until the PublishedResource "databases" has the condition True with the
// reason, for its current generation, and returns its schema name.
func waitForCondition(t *testing.T, c ctrlclient.Client, conditionType, reason string) string {
	t.Helper()
	var schema string
	framework.WaitFor(t, time.Minute, fmt.Sprintf("PublishedResource databases: %s=True (%s)", conditionType, reason), func(ctx context.Context) (bool, string, error) {
		pr := &syncagentv1alpha1.PublishedResource{}
		if err := c.Get(ctx, ctrlclient.ObjectKey{Name: "databases"}, pr); err != nil {
			return false, "", err
		}
		cond := meta.FindStatusCondition(pr.Status.Conditions, conditionType)
		if cond == nil {
			return false, "no condition", nil
		}
		schema = pr.Status.ResourceSchemaName
		return cond.Status == metav1.ConditionTrue && cond.Reason == reason && cond.ObservedGeneration == pr.Generation,
			fmt.Sprintf("%s %s: %s", cond.Status, cond.Reason, cond.Message), nil
	})
	return schema
}
