package syncagent

import (
	"context"
	"strings"
	"testing"
	"time"

	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/syncagent"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/test/framework"
)

// TestBadClaimLeavesOthersAlone publishes a PublishedResource whose related resource is served by
// another APIExport but has no identityHash, a claim kcp refuses in an APIExport, and then a good
// one: the good one is published and its objects sync, the bad one says which field to fix, and
// once it is fixed it is published with its claim. A third one that claims the same resource with
// another identity hash is left out and says so, while the claim of the first stays.
func TestBadClaimLeavesOthersAlone(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)
	certs := framework.NewWorkspace(t, "certs")
	identity := exportCertificates(t, certs)
	kube := framework.StartKube(t, "deploy/crd")
	providerCluster := framework.NewClient(t, kube.Config())
	for _, crd := range []*apiextensionsv1.CustomResourceDefinition{syncCRD(), tlsCertificateCRD(), namedCRD("RedisCluster"), namedCRD("MemcachedCluster")} {
		if err := providerCluster.Create(ctx, crd); err != nil {
			t.Fatal(err)
		}
	}
	provider := framework.NewWorkspace(t, "provider")
	startAgent(t, provider, syncagent.Options{ProviderConfig: kube.Config(), EndpointSliceName: exportName, AgentName: "claims"})

	t.Log("a PublishedResource relates Certificates, served by another APIExport, without its identity hash")
	bad := publishedAs("caches", "RedisCluster", "Cache")
	bad.Spec.Related = []syncagentv1alpha1.RelatedResource{certificateEntry("")}
	if err := providerCluster.Create(ctx, bad); err != nil {
		t.Fatal(err)
	}
	waitForSchemaPublishedFalse(t, providerCluster, "caches")

	t.Log("a good PublishedResource is published and its objects sync")
	if err := providerCluster.Create(ctx, databasesPR()); err != nil {
		t.Fatal(err)
	}
	databasesSchema := waitForCondition(t, providerCluster, "databases", syncagentv1alpha1.ConditionReady, metav1.ConditionTrue, "Published", "")
	waitForExportSchemas(t, provider, databasesSchema)
	consumer := framework.NewWorkspace(t, "consumer")
	bindForSync(t, consumer, provider)
	framework.CreateWhenServed(t, consumer.Client, database("orders", "postgres"))
	waitForCopy(t, providerCluster, syncengine.Source{Cluster: consumer.Cluster.String(), Namespace: "default", Name: "orders"}, "engine", "postgres")

	t.Log("the bad one names the field and stays out of the export")
	waitForCondition(t, providerCluster, "caches", syncagentv1alpha1.ConditionSchemaPublished, metav1.ConditionFalse, "InvalidClaim", "spec.related[0].identityHash")
	waitForCondition(t, providerCluster, "caches", syncagentv1alpha1.ConditionReady, metav1.ConditionFalse, "InvalidClaim", "status.identityHash")

	t.Log("with the identity hash, it is published with its claim")
	setRelated(t, providerCluster, "caches", certificateEntry(identity))
	cachesSchema := waitForCondition(t, providerCluster, "caches", syncagentv1alpha1.ConditionReady, metav1.ConditionTrue, "Published", "")
	waitForExportSchemas(t, provider, cachesSchema, databasesSchema)
	certificatesClaim := apisv1alpha2.PermissionClaim{
		GroupResource: apisv1alpha2.GroupResource{Group: certsGroup, Resource: "certificates"}, IdentityHash: identity,
		Verbs: []string{"create", "delete", "get", "list", "patch", "update", "watch"},
	}
	waitForClaim(t, provider, certificatesClaim)

	t.Log("another PublishedResource claiming Certificates with another identity hash is left out")
	clash := publishedAs("memcached", "MemcachedCluster", "Memcached")
	clash.Spec.Related = []syncagentv1alpha1.RelatedResource{certificateEntry(strings.Repeat("0", 63) + "1")}
	if err := providerCluster.Create(ctx, clash); err != nil {
		t.Fatal(err)
	}
	waitForCondition(t, providerCluster, "memcached", syncagentv1alpha1.ConditionReady, metav1.ConditionFalse, "InvalidClaim",
		"PublishedResource caches (spec.related[0]) already claims certificates."+certsGroup)
	for _, name := range []string{"databases", "caches"} {
		if pr := get(t, providerCluster, name); !isTrue(pr, syncagentv1alpha1.ConditionReady) {
			t.Fatalf("PublishedResource %s is not Ready next to a clashing claim: %+v", name, pr.Status.Conditions)
		}
	}
	waitForExportSchemas(t, provider, cachesSchema, databasesSchema)
	waitForClaim(t, provider, certificatesClaim)
}

// certificateEntry relates the consumer's Certificate named in spec.configRef, copied to the
// provider cluster as a TLSCertificate.
func certificateEntry(identityHash string) syncagentv1alpha1.RelatedResource {
	return syncagentv1alpha1.RelatedResource{
		Identifier: "certificate", Origin: syncagentv1alpha1.OriginConsumer,
		Group: internalCertsGroup, Version: "v1", Resource: "tlscertificates",
		Projection:   &syncagentv1alpha1.RelatedProjection{Group: certsGroup, Resource: "certificates"},
		IdentityHash: identityHash,
		Object:       syncagentv1alpha1.RelatedObjectSelector{Reference: &syncagentv1alpha1.ReferencePath{Path: "spec.configRef"}},
	}
}

// waitForSchemaPublishedFalse waits until the agent has reported a failure to publish, whatever
// the reason.
func waitForSchemaPublishedFalse(t *testing.T, c client.Client, name string) {
	t.Helper()
	framework.WaitFor(t, time.Minute, "PublishedResource "+name+": SchemaPublished=False", func(ctx context.Context) (bool, string, error) {
		pr := &syncagentv1alpha1.PublishedResource{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, pr); err != nil {
			return false, "", err
		}
		cond := meta.FindStatusCondition(pr.Status.Conditions, syncagentv1alpha1.ConditionSchemaPublished)
		if cond == nil {
			return false, "no condition", nil
		}
		return cond.Status == metav1.ConditionFalse, string(cond.Status) + " " + cond.Reason, nil
	})
}

// setRelated replaces the related resources of a PublishedResource.
func setRelated(t *testing.T, c client.Client, name string, related ...syncagentv1alpha1.RelatedResource) {
	t.Helper()
	pr := get(t, c, name)
	pr.Spec.Related = related
	if err := c.Update(framework.Context(t), pr); err != nil {
		t.Fatal(err)
	}
}
