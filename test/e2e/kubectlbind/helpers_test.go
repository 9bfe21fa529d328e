package kubectlbind

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bindv1alpha1 "github.com/bindery-dev/bindery/apis/bind/v1alpha1"
	"github.com/bindery-dev/bindery/pkg/bindprotocol"
	"github.com/bindery-dev/bindery/pkg/kubectlbindery"
	"github.com/bindery-dev/bindery/test/framework"
)

// contextName is the context of the kubeconfig the tests write, which bind sends as the
// cluster's name.
const contextName = "consumer"

// env is one test's view of the consumer cluster: an admin client, a kubeconfig for the CLI, and
// a service, API group and konnector namespace of its own.
type env struct {
	t          *testing.T
	ctx        context.Context
	c          client.Client
	kubeconfig string
	backend    string
	service    string
	group      string
	namespace  string
}

func newEnv(t *testing.T) *env {
	return &env{
		t: t, ctx: framework.Context(t), c: framework.NewClient(t, consumer.Config()),
		kubeconfig: framework.WriteKubeconfig(t, contextName, consumer.Config()),
		backend:    "https://" + framework.UniqueName("provider") + ".example.com",
		service:    framework.UniqueName("databases"),
		group:      framework.UniqueName("db") + ".provider.test",
		namespace:  framework.UniqueName("konnector"),
	}
}

// response is what a backend answers for the test's service: one consumer-facing API,
// databases in the test's group, with its CRD.
func (e *env) response() *bindprotocol.BindResponse {
	return &bindprotocol.BindResponse{
		Consumer: "jane-" + e.service, Namespace: "bindery-jane-" + e.service, ServiceAccount: "konnector",
		Kubeconfig: []byte("apiVersion: v1\nkind: Config\ncurrent-context: provider\n"),
		ExpiresAt:  time.Now().Add(time.Hour).Truncate(time.Second),
		CRDs:       []apiextensionsv1.CustomResourceDefinition{*databaseCRD(e.group)},
		Resources: []bindprotocol.BoundResource{{
			PublishedResource: "databases",
			Consumer:          bindprotocol.Resource{Group: e.group, Resource: "databases", Kind: "Database", Versions: []string{"v1"}},
			Provider:          bindprotocol.Resource{Group: "internal.provider.test", Resource: "postgresinstances", Kind: "PostgresInstance", Versions: []string{"v1"}},
		}},
	}
}

// databaseCRD is the consumer-facing Database CRD in group.
func databaseCRD(group string) *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "databases." + group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: group, Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: "Database", ListKind: "DatabaseList", Plural: "databases", Singular: "database"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: ptr.To(true),
				}},
			}},
		},
	}
}

// consumerBind is bind's consumer half for the test's service, answering for the backend with
// resp and recording the cluster it was asked to bind.
func (e *env) consumerBind(resp *bindprotocol.BindResponse, out *framework.SyncBuffer, asked *bindprotocol.Cluster) *kubectlbindery.ConsumerBind {
	return &kubectlbindery.ConsumerBind{
		Config: consumer.Config(), ContextName: contextName,
		Backend: e.backend, Service: e.service,
		Konnector: kubectlbindery.KonnectorSkip, KonnectorNamespace: e.namespace,
		Out: out,
		Bind: func(_ context.Context, cluster bindprotocol.Cluster) (*bindprotocol.BindResponse, error) {
			if asked != nil {
				*asked = cluster
			}
			return resp, nil
		},
	}
}

// kubectlBindery runs the plugin against the consumer cluster with stdin that is no terminal.
func (e *env) kubectlBindery(args ...string) (string, error) {
	cmd := kubectlbindery.NewCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetIn(strings.NewReader(""))
	cmd.SetArgs(append(args, "--kubeconfig", e.kubeconfig))
	err := cmd.ExecuteContext(e.ctx)
	return out.String(), err
}

// setStatus changes the binding's status as the konnector would.
func (e *env) setStatus(name string, change func(*bindv1alpha1.ServiceBinding)) {
	e.t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		b := &bindv1alpha1.ServiceBinding{}
		if err := e.c.Get(e.ctx, client.ObjectKey{Name: name}, b); err != nil {
			return err
		}
		change(b)
		return e.c.Status().Update(e.ctx, b)
	})
	if err != nil {
		e.t.Fatalf("updating the status of ServiceBinding %s: %v", name, err)
	}
}

// aggregate fills the aggregated ClusterRole name as kube-controller-manager would (envtest
// runs none).
func (e *env) aggregate(name string) { framework.AggregateClusterRole(e.t, e.c, name) }

// allowed asks the API server whether user may do what attrs say.
func (e *env) allowed(user string, attrs authorizationv1.ResourceAttributes) bool {
	e.t.Helper()
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: user, ResourceAttributes: &attrs}}
	if err := e.c.Create(e.ctx, review); err != nil {
		e.t.Fatalf("SubjectAccessReview: %v", err)
	}
	return review.Status.Allowed
}
