package syncagent

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	apisv1alpha1 "github.com/kcp-dev/sdk/apis/apis/v1alpha1"
	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	syncagentv1alpha1 "github.com/bindery-dev/bindery/apis/syncagent/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/syncagent"
	"github.com/bindery-dev/bindery/pkg/syncengine"
	"github.com/bindery-dev/bindery/pkg/templating"
	"github.com/bindery-dev/bindery/test/framework"
)

const (
	certsGroup         = "certs.example.com"
	internalCertsGroup = "internal.certs.example.com"
)

// TestRelatedStatusRenamedAndOtherNamespace covers the related-object features beyond the first
// slice, on real kcp and a real provider cluster:
//
//   - a consumer-origin Certificate (served in kcp by another APIExport, so the claim carries its
//     identity hash) in another namespace than the Database (object.template.namespace), copied
//     into the provider cluster under another resource name (TLSCertificate,
//     projection.resource), next to the Database's copy; the provider's status on the copy flows
//     back to the consumer's Certificate (syncStatus), through mutation.status; a change of the
//     Certificate reaches the copy at once;
//   - a provider-origin Secret the operator writes into a namespace of its own, found with a
//     namespace template rendered on the copy, copied next to the consumer's Database, and
//     followed when it changes;
//   - a consumer-origin ConfigMap found by a label selector whose value is a template;
//   - deleting the Database deletes every related copy.
func TestRelatedStatusRenamedAndOtherNamespace(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t)

	t.Log("another export serves Certificates in kcp")
	certs := framework.NewWorkspace(t, "certs")
	identity := exportCertificates(t, certs)

	kube := framework.StartKube(t, "deploy/crd")
	providerCluster := framework.NewClient(t, kube.Config())
	for _, crd := range []*apiextensionsv1.CustomResourceDefinition{syncCRD(), tlsCertificateCRD()} {
		if err := providerCluster.Create(ctx, crd); err != nil {
			t.Fatal(err)
		}
	}
	provider := framework.NewWorkspace(t, "provider")
	startAgent(t, provider, syncagent.Options{ProviderConfig: kube.Config(), EndpointSliceName: exportName, AgentName: "related-more"})
	if err := providerCluster.Create(ctx, databasesPR(
		syncagentv1alpha1.RelatedResource{
			Identifier: "cert", Origin: syncagentv1alpha1.OriginConsumer,
			Group: internalCertsGroup, Version: "v1", Resource: "tlscertificates",
			Projection:   &syncagentv1alpha1.RelatedProjection{Group: certsGroup, Resource: "certificates"},
			IdentityHash: identity,
			Object: syncagentv1alpha1.RelatedObjectSelector{Template: &syncagentv1alpha1.NameTemplate{
				Name: "{{ .Object.metadata.name }}-cert", Namespace: "certs",
			}},
			SyncStatus: true,
			Mutation: &syncagentv1alpha1.Mutation{Status: []syncagentv1alpha1.MutationStep{
				{Delete: &syncagentv1alpha1.DeleteStep{Path: "status.internalNote"}},
			}},
		},
		syncagentv1alpha1.RelatedResource{
			Identifier: "credentials", Origin: syncagentv1alpha1.OriginProvider, Version: "v1", Resource: "secrets",
			Object: syncagentv1alpha1.RelatedObjectSelector{Template: &syncagentv1alpha1.NameTemplate{
				Name: "{{ .Object.metadata.name }}-creds", Namespace: "creds-{{ .Object.metadata.namespace }}",
			}},
		},
		syncagentv1alpha1.RelatedResource{
			Identifier: "settings", Origin: syncagentv1alpha1.OriginConsumer, Version: "v1", Resource: "configmaps",
			Object: syncagentv1alpha1.RelatedObjectSelector{Selector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"databases.example.com/owner": "{{ .Object.metadata.name }}"},
			}},
		},
	)); err != nil {
		t.Fatal(err)
	}
	waitForCondition(t, providerCluster, "databases", syncagentv1alpha1.ConditionSynced, metav1.ConditionTrue, "SyncRunning", "")

	t.Log("the export claims the renamed resource by its kcp name, with the identity hash")
	all := []string{"create", "delete", "get", "list", "patch", "update", "watch"}
	certClaim := framework.Claim(certsGroup, "certificates", all...)
	certClaim.IdentityHash = identity
	waitForClaim(t, provider, certClaim)

	consumer := framework.NewWorkspace(t, "consumer")
	framework.Bind(t, consumer, certs.Path, "certificates")
	framework.Bind(t, consumer, provider.Path, exportName,
		framework.Claim("", "events", "create", "patch", "update"),
		framework.Claim("", "namespaces", "create", "get", "list", "watch"),
		framework.Claim("", "secrets", all...),
		framework.Claim("", "configmaps", all...),
		certClaim)
	if err := consumer.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "certs"}}); err != nil {
		t.Fatal(err)
	}
	cert := certificate("certs", "orders-cert", "orders.example.com")
	framework.CreateWhenServed(t, consumer.Client, cert)
	settings := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "orders-settings", Namespace: "default", Labels: map[string]string{"databases.example.com/owner": "orders"}},
		Data:       map[string]string{"max_connections": "50"},
	}
	if err := consumer.Client.Create(ctx, settings); err != nil {
		t.Fatal(err)
	}
	framework.CreateWhenServed(t, consumer.Client, database("orders", "postgres"))
	source := syncengine.Source{Cluster: consumer.Cluster.String(), Namespace: "default", Name: "orders"}
	copied := waitForCopy(t, providerCluster, source, "engine", "postgres")
	providerNamespace := copied.GetNamespace()

	t.Log("the Certificate from namespace certs lands as a TLSCertificate next to the copy")
	// A consumer-side original's copy carries the original's namespace in its name.
	certCopy := templating.DNSLabel("certs", "orders-cert")
	waitForTLSCertificate(t, providerCluster, providerNamespace, certCopy, "orders.example.com")
	settingsCopy := templating.DNSLabel("default", "orders-settings")
	waitForConfigMap(t, providerCluster, providerNamespace, settingsCopy, "50")

	t.Log("the provider's status on the TLSCertificate flows back to the consumer's Certificate, mutated")
	// Like an operator, the test writes the status again when the agent wrote the copy meanwhile.
	tls := &unstructured.Unstructured{}
	tls.SetGroupVersionKind(tlsCertificateKind)
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := providerCluster.Get(ctx, client.ObjectKey{Namespace: providerNamespace, Name: certCopy}, tls); err != nil {
			return err
		}
		tls.Object["status"] = map[string]any{"state": "Issued", "internalNote": "issued by ca-7 on node-3"}
		return providerCluster.Status().Update(ctx, tls)
	}); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, time.Minute, "status.state=Issued on the consumer's Certificate, without internalNote", func(ctx context.Context) (bool, string, error) {
		got := certificate("certs", "orders-cert", "")
		if err := consumer.Client.Get(ctx, client.ObjectKeyFromObject(got), got); err != nil {
			return false, "", err
		}
		status, _, _ := unstructured.NestedMap(got.Object, "status")
		_, leaked := status["internalNote"]
		return status["state"] == "Issued" && !leaked, fmt.Sprintf("status %v", status), nil
	})
	if spec, _, _ := unstructured.NestedMap(tls.Object, "spec"); spec["commonName"] != "orders.example.com" {
		t.Fatalf("the provider's copy has spec %v", spec)
	}

	t.Log("a change of the Certificate in its own namespace reaches the copy")
	if err := consumer.Client.Get(ctx, client.ObjectKeyFromObject(cert), cert); err != nil {
		t.Fatal(err)
	}
	_ = unstructured.SetNestedField(cert.Object, "db.orders.example.com", "spec", "commonName")
	if err := consumer.Client.Update(ctx, cert); err != nil {
		t.Fatal(err)
	}
	waitForTLSCertificate(t, providerCluster, providerNamespace, certCopy, "db.orders.example.com")

	t.Log("the operator's Secret in a namespace of its own reaches the consumer, and follows updates")
	// The templates of a provider-origin entry see the copy: its namespace and name.
	credsNamespace, credsName := "creds-"+providerNamespace, copied.GetName()+"-creds"
	if err := providerCluster.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: credsNamespace}}); err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: credsName, Namespace: credsNamespace}, StringData: map[string]string{"password": "s3cret"}}
	if err := providerCluster.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	waitForSecret(t, consumer.Client, "default", credsName, "s3cret")
	secret.StringData = map[string]string{"password": "rotated"}
	if err := providerCluster.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	waitForSecret(t, consumer.Client, "default", credsName, "rotated")

	t.Log("deleting the Database deletes every related copy, and no original")
	if err := consumer.Client.Delete(ctx, database("orders", "")); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, time.Minute, "related copies to be cleaned up", func(ctx context.Context) (bool, string, error) {
		tlsErr := providerCluster.Get(ctx, client.ObjectKey{Namespace: providerNamespace, Name: certCopy}, tls.DeepCopy())
		configErr := providerCluster.Get(ctx, client.ObjectKey{Namespace: providerNamespace, Name: settingsCopy}, &corev1.ConfigMap{})
		secretErr := consumer.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: credsName}, &corev1.Secret{})
		return apierrors.IsNotFound(tlsErr) && apierrors.IsNotFound(configErr) && apierrors.IsNotFound(secretErr),
			fmt.Sprintf("TLSCertificate: %v; ConfigMap: %v; consumer Secret: %v", tlsErr, configErr, secretErr), nil
	})
	for what, err := range map[string]error{
		"the consumer's Certificate": consumer.Client.Get(ctx, client.ObjectKeyFromObject(cert), certificate("certs", "orders-cert", "")),
		"the consumer's ConfigMap":   consumer.Client.Get(ctx, client.ObjectKeyFromObject(settings), &corev1.ConfigMap{}),
		"the operator's Secret":      providerCluster.Get(ctx, client.ObjectKeyFromObject(secret), &corev1.Secret{}),
	} {
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
}

// exportCertificates creates an APIExport "certificates" serving certificates.certs.example.com
// (with a status subresource) in ws and returns its identity hash.
func exportCertificates(t *testing.T, ws *framework.Workspace) string {
	t.Helper()
	ctx := framework.Context(t)
	openAPI := `{"type":"object","properties":{` +
		`"spec":{"type":"object","properties":{"commonName":{"type":"string"}}},` +
		`"status":{"type":"object","properties":{"state":{"type":"string"},"internalNote":{"type":"string"}}}}}`
	schemaName := "v1.certificates." + certsGroup
	if err := ws.Client.Create(ctx, &apisv1alpha1.APIResourceSchema{
		ObjectMeta: metav1.ObjectMeta{Name: schemaName},
		Spec: apisv1alpha1.APIResourceSchemaSpec{
			Group: certsGroup,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "certificates", Singular: "certificate", Kind: "Certificate", ListKind: "CertificateList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apisv1alpha1.APIResourceVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema:       runtime.RawExtension{Raw: []byte(openAPI)},
				Subresources: apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
			}},
		},
	}); err != nil {
		t.Fatal(err)
	}
	export := &apisv1alpha2.APIExport{
		ObjectMeta: metav1.ObjectMeta{Name: "certificates"},
		Spec: apisv1alpha2.APIExportSpec{Resources: []apisv1alpha2.ResourceSchema{{
			Name: "certificates", Group: certsGroup, Schema: schemaName,
			Storage: apisv1alpha2.ResourceSchemaStorage{CRD: &apisv1alpha2.ResourceSchemaStorageCRD{}},
		}}},
	}
	if err := ws.Client.Create(ctx, export); err != nil {
		t.Fatal(err)
	}
	framework.WaitFor(t, time.Minute, "the identity hash of APIExport certificates", func(ctx context.Context) (bool, string, error) {
		if err := ws.Client.Get(ctx, client.ObjectKeyFromObject(export), export); err != nil {
			return false, "", err
		}
		return export.Status.IdentityHash != "", "no identity hash", nil
	})
	return export.Status.IdentityHash
}

// tlsCertificateCRD is the provider's internal CRD for certificates, under another name than kcp's.
func tlsCertificateCRD() *apiextensionsv1.CustomResourceDefinition {
	str := apiextensionsv1.JSONSchemaProps{Type: "string"}
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "tlscertificates." + internalCertsGroup},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: internalCertsGroup,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "tlscertificates", Singular: "tlscertificate", Kind: "TLSCertificate", ListKind: "TLSCertificateList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"spec":   {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"commonName": str}},
						"status": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"state": str, "internalNote": str}},
					},
				}},
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
			}},
		},
	}
}

var tlsCertificateKind = schema.GroupVersionKind{Group: internalCertsGroup, Version: "v1", Kind: "TLSCertificate"}

func certificate(namespace, name, commonName string) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": certsGroup + "/v1", "kind": "Certificate",
		"metadata": map[string]any{"name": name, "namespace": namespace},
	}}
	if commonName != "" {
		obj.Object["spec"] = map[string]any{"commonName": commonName}
	}
	return obj
}

// waitForTLSCertificate waits until the provider's TLSCertificate has spec.commonName.
func waitForTLSCertificate(t *testing.T, c client.Client, namespace, name, commonName string) {
	t.Helper()
	framework.WaitFor(t, time.Minute, fmt.Sprintf("TLSCertificate %s/%s with commonName %s", namespace, name, commonName), func(ctx context.Context) (bool, string, error) {
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(tlsCertificateKind)
		if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj); err != nil {
			return false, "", err
		}
		got, _, _ := unstructured.NestedString(obj.Object, "spec", "commonName")
		return got == commonName, "commonName " + got, nil
	})
}

// waitForClaim waits until the agent's APIExport has the claim, verbs included.
func waitForClaim(t *testing.T, provider *framework.Workspace, want apisv1alpha2.PermissionClaim) {
	t.Helper()
	framework.WaitFor(t, time.Minute, fmt.Sprintf("APIExport %s to claim %s.%s", exportName, want.Resource, want.Group), func(ctx context.Context) (bool, string, error) {
		export := &apisv1alpha2.APIExport{}
		if err := provider.Client.Get(ctx, client.ObjectKey{Name: exportName}, export); err != nil {
			return false, "", err
		}
		for _, c := range export.Spec.PermissionClaims {
			if c.GroupResource == want.GroupResource && c.IdentityHash == want.IdentityHash && slices.Equal(c.Verbs, want.Verbs) {
				return true, "", nil
			}
		}
		return false, fmt.Sprintf("%v", export.Spec.PermissionClaims), nil
	})
}
